import type { CorsPolicy } from "../../control/compile/snapshot.ts";
import { compileStringMatch } from "./string-match.ts";

/** What the CORS policy of the matched route makes of a request. */
export type CorsVerdict =
  /** Not a CORS request for this policy (no policy, no Origin, or an origin not allowed): carry on. */
  | { kind: "none" }
  /** A preflight the proxy answers itself (200), with these headers (none for an ignored one). */
  | { kind: "preflight"; status: 200; headers: Record<string, string> }
  /** A CORS request from an allowed origin: carry on and add these headers to the response. */
  | { kind: "cors"; responseHeaders: Record<string, string> };

/** The request facts CORS looks at; header names lower-case. */
export interface CorsRequest {
  method: string;
  headers: Readonly<Record<string, string | undefined>>;
}

/**
 * Evaluates a route's CORS policy the way Envoy's CORS filter does. A request with an `Origin`
 * that a matcher allows (a matcher that matches `*` allows all) is a CORS request: a preflight
 * (OPTIONS with `Access-Control-Request-Method`) is answered 200 with the allow headers and never
 * reaches the upstream; any other request goes on and its response gets
 * `Access-Control-Allow-Origin` (the request's origin), credentials and expose headers.
 * A preflight from an origin not allowed goes upstream (`FORWARD`) or gets a bare 200 (`IGNORE`).
 *
 * @example
 * ```ts
 * evaluateCors(policy, { method: "OPTIONS", headers: { origin: "https://a.example", "access-control-request-method": "PUT" } });
 * // { kind: "preflight", status: 200, headers: { "access-control-allow-origin": "https://a.example", ... } }
 * ```
 */
export function evaluateCors(policy: CorsPolicy | undefined, req: CorsRequest): CorsVerdict {
  const origin = req.headers.origin;
  if (!policy || origin === undefined || origin === "") return { kind: "none" };
  const preflight =
    req.method.toUpperCase() === "OPTIONS" && (req.headers["access-control-request-method"] ?? "") !== "";
  if (!isOriginAllowed(policy, origin)) {
    return preflight && policy.unmatchedPreflights === "IGNORE"
      ? { kind: "preflight", status: 200, headers: {} }
      : { kind: "none" };
  }
  const headers: Record<string, string> = { "access-control-allow-origin": origin };
  if (policy.allowCredentials) headers["access-control-allow-credentials"] = "true";
  if (!preflight) {
    if (policy.exposeHeaders) headers["access-control-expose-headers"] = policy.exposeHeaders;
    return { kind: "cors", responseHeaders: headers };
  }
  if (policy.allowMethods) headers["access-control-allow-methods"] = policy.allowMethods;
  if (policy.allowHeaders) headers["access-control-allow-headers"] = policy.allowHeaders;
  if (policy.maxAge) headers["access-control-max-age"] = policy.maxAge;
  return { kind: "preflight", status: 200, headers };
}

/** Envoy: an origin is allowed when a matcher matches it, or matches the literal `*`. */
export function isOriginAllowed(policy: CorsPolicy, origin: string): boolean {
  return policy.allowOrigins.some((m) => {
    const matcher = compileStringMatch(m);
    return matcher("*") || matcher(origin);
  });
}
