/**
 * Envoy-style response flags: a short code saying why the proxy (not the app) shaped a response.
 * Sent in {@link RESPONSE_FLAGS_HEADER} on every response the proxy generates itself, and counted
 * per listener in the sidecar stats.
 *
 * - `NR` no route for the authority (404)
 * - `UH` no healthy endpoint in the chosen cluster (503)
 * - `UF` upstream connection failure (503)
 * - `UC` upstream connection reset / closed before the response completed (503)
 * - `UT` route timeout (504)
 * - `DC` the downstream client went away before the response completed
 * - `DPE` downstream protocol error, e.g. no Host header (400)
 */
export type ResponseFlag = "NR" | "UH" | "UF" | "UC" | "UT" | "DC" | "DPE";

/** Response header carrying the flag of a locally generated response. */
export const RESPONSE_FLAGS_HEADER = "x-jibe-response-flags";

/** Response header naming the route that decided (`Route.origin`), e.g. `VirtualService/default/reviews#0`. */
export const ROUTE_HEADER = "x-jibe-route";

/** Label used in stats for responses the proxy did not have to flag. */
export const NO_FLAG = "-";
