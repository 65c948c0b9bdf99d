/**
 * Sidecar injection, node adapters: the HTTPS admission webhook and its registration (caBundle).
 *
 * @example
 * ```ts
 * import { startInjectionWebhook } from "../injector/node.ts";
 * ```
 */

export * from "./webhook-registration.ts";
export * from "./webhook-server.ts";
