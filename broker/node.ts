/**
 * Node-only adapters of the broker package: launching nats-server, connecting with the Node
 * transport, and the signing key / trusted JWKS files under `$JIBE_HOME`.
 *
 * @example
 * ```ts
 * import { connectNats, resolveNatsServer } from "../broker/node.ts";
 * const nats = await resolveNatsServer(process.env);
 * const nc = await connectNats(nats.url);
 * ```
 */
export * from "./nats-connection.ts";
export * from "./nats-launcher.ts";
export * from "./signing-key-file.ts";
