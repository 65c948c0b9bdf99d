/**
 * Sidecar injection, node adapters: the HTTPS admission webhook.
 *
 * @example
 * ```ts
 * import { startInjectionWebhook } from "../injector/node.ts";
 * ```
 */
export * from "./webhook-server.ts";
