/**
 * The broker package, workerd-safe parts only (no `node:*`): event schema, subjects, signed
 * envelopes, replay guard, config store, publisher, subscriber and policy sync. Node adapters
 * (nats-server launcher, connection, signing-key files) are in `./node.ts`.
 *
 * @example
 * ```ts
 * import { createVerifier, startPolicySync } from "../broker/index.ts";
 * ```
 */
export * from "./config-store.ts";
export * from "./envelope.ts";
export * from "./errors.ts";
export * from "./event-publisher.ts";
export * from "./event-subscriber.ts";
export * from "./events.ts";
export * from "./logger.ts";
export * from "./payload-shape.ts";
export * from "./policy-sync.ts";
export * from "./replay-guard.ts";
export * from "./subjects.ts";
export * from "./verified-snapshot.ts";
