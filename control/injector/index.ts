/**
 * Sidecar injection, the pure parts (no `node:*`): `computeInjectionPatch`, `answerAdmissionReview`,
 * `renderIptablesRules`, the serving certificate. The HTTPS webhook is in `./node.ts`.
 *
 * @example
 * ```ts
 * import { computeInjectionPatch } from "../injector/index.ts";
 * ```
 */
export * from "./admission-review.ts";
export * from "./errors.ts";
export * from "./inject-pod.ts";
export * from "./injection-policy.ts";
export * from "./iptables.ts";
export * from "./json-patch.ts";
export * from "./pod.ts";
export * from "./probe-rewrite.ts";
export * from "./serving-certificate.ts";
export * from "./sidecar-containers.ts";
export * from "./traffic-capture.ts";
