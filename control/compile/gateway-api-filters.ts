import { parseDurationMs } from "../model/duration.ts";
import type { HttpRouteFilter, HttpRouteRule } from "../model/gateway-api.ts";
import { DEFAULT_RETRY_POLICY, NO_RETRIES } from "./route-policies.ts";
import type { CorsPolicy, RedirectPolicy, RetryPolicy, UriRewrite } from "./snapshot.ts";

/**
 * Gateway API filters translated to the snapshot's route policies, with the Gateway API's own
 * defaults (302 redirects, a 5 s CORS max age) and Istio's translation where the spec leaves it
 * to the implementation (retries).
 */

/**
 * `ReplacePrefixMatch`: replaces the matched path prefix `prefix` (no trailing `/`) by
 * `replacement` element-wise: `/foo` → `/xyz` turns `/foo/bar` into `/xyz/bar`, `/foo` → `/`
 * turns `/foo/bar` into `/bar` and `/foo` into `/`. Undefined when nothing changes.
 *
 * @example
 * ```ts
 * prefixRewrite("/prefix/one", "/one"); // { kind: "prefix", prefix: "/prefix/one", replacement: "/one" }
 * ```
 */
export function prefixRewrite(prefix: string | undefined, replacement: string): UriRewrite | undefined {
  const to = replacement.length > 1 ? replacement.replace(/\/+$/, "") || "/" : replacement || "/";
  const from = prefix ?? "/";
  if (from === "/") return to === "/" ? undefined : { kind: "regex", pattern: "^/", substitution: `${to}/` };
  return { kind: "prefix", prefix: from, replacement: to };
}

/**
 * `RequestRedirect` → snapshot redirect. Status 302 by default. Port: the given one; else the
 * scheme's well-known port when the scheme changes (left out of Location), else the listener's
 * (the request's) port, as the Gateway API requires.
 */
export function compileGatewayRedirect(
  redirect: NonNullable<HttpRouteFilter["requestRedirect"]>,
  matchedPrefix: string | undefined,
): RedirectPolicy {
  const out: RedirectPolicy = { status: redirect.statusCode ?? 302 };
  if (redirect.scheme) out.scheme = redirect.scheme;
  if (redirect.hostname) out.authority = redirect.hostname;
  if (redirect.port !== undefined) out.port = redirect.port;
  else out.derivePort = redirect.scheme ? "FROM_PROTOCOL_DEFAULT" : "FROM_REQUEST_PORT";
  const path = redirect.path;
  if (path?.type === "ReplaceFullPath") out.uri = path.replaceFullPath ?? "/";
  else if (path?.type === "ReplacePrefixMatch") {
    const rewrite = prefixRewrite(matchedPrefix, path.replacePrefixMatch ?? "/");
    if (rewrite) out.pathRewrite = rewrite;
  }
  return out;
}

/** The Gateway API default of `cors.maxAge`, in seconds. */
const DEFAULT_CORS_MAX_AGE = 5;

/**
 * The `CORS` filter → snapshot CORS policy. Origins may hold `*` wildcards (`https://*.bar.com`
 * matches any number of labels); `*` alone allows every origin. Preflights from other origins go
 * upstream, as Envoy does. Undefined when no origin is allowed.
 */
export function compileGatewayCors(cors: HttpRouteFilter["cors"]): CorsPolicy | undefined {
  if (!cors?.allowOrigins?.length) return undefined;
  const out: CorsPolicy = {
    allowOrigins: cors.allowOrigins.map((origin) =>
      origin === "*" || !origin.includes("*") ? { exact: origin } : { regex: originPattern(origin) },
    ),
    unmatchedPreflights: "FORWARD",
    maxAge: String(cors.maxAge ?? DEFAULT_CORS_MAX_AGE),
  };
  if (cors.allowMethods?.length) out.allowMethods = cors.allowMethods.join(",");
  if (cors.allowHeaders?.length) out.allowHeaders = cors.allowHeaders.join(",");
  if (cors.exposeHeaders?.length) out.exposeHeaders = cors.exposeHeaders.join(",");
  if (cors.allowCredentials) out.allowCredentials = true;
  return out;
}

function originPattern(origin: string): string {
  return origin
    .split("*")
    .map((part) => part.replace(/[.+?^${}()|[\]\\]/g, "\\$&"))
    .join(".+");
}

/**
 * `retry` as Istio translates it: `attempts` (default 2; 0 disables), retried on Istio's default
 * conditions plus the listed `codes` (503 when none), `backoff` as the base interval.
 */
export function compileGatewayRetry(retry: HttpRouteRule["retry"]): RetryPolicy | undefined {
  if (!retry) return undefined;
  const attempts = retry.attempts ?? DEFAULT_RETRY_POLICY.attempts;
  if (attempts <= 0) return NO_RETRIES;
  const backoff = retry.backoff ? parseDurationMs(retry.backoff) : undefined;
  return {
    attempts,
    retryOn: [...DEFAULT_RETRY_POLICY.retryOn],
    retriableStatusCodes: retry.codes?.length
      ? [...retry.codes]
      : [...DEFAULT_RETRY_POLICY.retriableStatusCodes],
    backoffBaseMs: backoff ?? DEFAULT_RETRY_POLICY.backoffBaseMs,
  };
}
