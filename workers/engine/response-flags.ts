/**
 * Envoy-style response flags: short codes saying why the proxy (not the app) shaped a response.
 * One shared list for every proxy on the engine (sidecar and edge); sent in
 * {@link RESPONSE_FLAGS_HEADER} and counted in proxy stats.
 *
 * - `UH` no healthy endpoint in the chosen cluster (503)
 * - `UF` upstream connection failure (503)
 * - `UC` upstream connection reset / closed before the response completed (503)
 * - `UT` route or per-try timeout (504)
 * - `NR` no route for the request (404)
 * - `NC` the route's cluster is not in the config (503; e.g. a subset no DestinationRule defines)
 * - `URX` retries were needed but the retry limit was reached (the last answer is returned)
 * - `DI` the request was delayed by a fault (the response itself is the upstream's)
 * - `FI` the request was aborted by a fault
 * - `DC` the downstream client went away before the response completed
 * - `DPE` downstream protocol error, e.g. no Host header (400)
 * - `RBAC` denied by an AuthorizationPolicy (403 "RBAC: access denied")
 * - `UAEX` denied by a CUSTOM policy's external authorizer, or the authorizer failed (fail closed)
 * - `UO` upstream overflow: a DestinationRule `connectionPool` limit was reached (503)
 */
export type ResponseFlag =
  | "UH"
  | "UF"
  | "UO"
  | "UC"
  | "UT"
  | "NR"
  | "NC"
  | "URX"
  | "DI"
  | "FI"
  | "DC"
  | "DPE"
  | "RBAC"
  | "UAEX";

/** Response header carrying the flags of a response the proxy shaped, comma separated (`UF,URX`). */
export const RESPONSE_FLAGS_HEADER = "x-jibe-response-flags";

/** Response header naming the route that decided (`Route.origin`), e.g. `VirtualService/default/reviews#0`. */
export const ROUTE_HEADER = "x-jibe-route";

/** Label used in stats for responses the proxy did not have to flag. */
export const NO_FLAG = "-";

/** Envoy's order of flags in `%RESPONSE_FLAGS%`, so a combination always reads the same. */
const ORDER: readonly ResponseFlag[] = [
  "UH",
  "UT",
  "UF",
  "UO",
  "UC",
  "NR",
  "DI",
  "FI",
  "DC",
  "URX",
  "DPE",
  "NC",
  "RBAC",
  "UAEX",
];

/**
 * Formats flags the way Envoy's access log does: known order, no duplicates, comma separated.
 *
 * @example
 * ```ts
 * formatResponseFlags(["URX", "UF"]); // "UF,URX"
 * formatResponseFlags([]);            // ""
 * ```
 */
export function formatResponseFlags(flags: Iterable<ResponseFlag>): string {
  const set = new Set(flags);
  return ORDER.filter((f) => set.has(f)).join(",");
}
