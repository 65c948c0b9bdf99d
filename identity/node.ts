/**
 * Node-only adapters of the identity package: the CA files under `$JIBE_HOME/ca` (or a plug-in CA
 * directory), the identity service the control plane starts, and node:tls options for mTLS.
 *
 * @example
 * ```ts
 * import { startIdentityService, tlsOptionsFrom } from "../identity/node.ts";
 * ```
 */
export * from "./ca-admin.ts";
export * from "./ca-files.ts";
export * from "./identity-service.ts";
export * from "./tls-options.ts";
export * from "./token-review-client.ts";
