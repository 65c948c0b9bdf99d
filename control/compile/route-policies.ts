import { parseDurationMs } from "../model/duration.ts";
import type { HttpRoute } from "../model/virtual-service.ts";
import type {
  CorsPolicy,
  FaultPolicy,
  HeaderOperations,
  HeaderPolicy,
  RedirectPolicy,
  RetryCondition,
  RetryPolicy,
  RouteMatch,
  StringMatch,
  UriRewrite,
} from "./snapshot.ts";

/**
 * Translations of what an Istio http rule does besides choosing destinations, field for field as
 * Istio hands them to Envoy (pilot `route.go`, `retry.ConvertPolicy`, `translateFault`,
 * `translateCORSPolicy`). Input is validated already; these only shape it for the snapshot.
 */

type IstioHeaders = NonNullable<HttpRoute["headers"]>;

/** Istio's base retry backoff (Envoy's default `base_interval`). */
export const DEFAULT_RETRY_BACKOFF_MS = 25;

/** A retry policy that never retries (a fault on the route, or `attempts: 0`). */
export const NO_RETRIES: RetryPolicy = {
  attempts: 0,
  retryOn: [],
  retriableStatusCodes: [],
  backoffBaseMs: DEFAULT_RETRY_BACKOFF_MS,
};

/** gRPC status names Istio accepts in `fault.abort.grpcStatus`, with their codes. */
export const GRPC_STATUS_CODES: Readonly<Record<string, number>> = {
  OK: 0,
  CANCELLED: 1,
  UNKNOWN: 2,
  INVALID_ARGUMENT: 3,
  DEADLINE_EXCEEDED: 4,
  NOT_FOUND: 5,
  ALREADY_EXISTS: 6,
  PERMISSION_DENIED: 7,
  RESOURCE_EXHAUSTED: 8,
  FAILED_PRECONDITION: 9,
  ABORTED: 10,
  OUT_OF_RANGE: 11,
  UNIMPLEMENTED: 12,
  INTERNAL: 13,
  UNAVAILABLE: 14,
  DATA_LOSS: 15,
  UNAUTHENTICATED: 16,
};

/**
 * Header operations with lower-case names; undefined when there is nothing to do.
 *
 * @example
 * ```ts
 * compileHeaders({ request: { set: { "X-Env": "prod" } } }); // { request: { set: { "x-env": "prod" } } }
 * ```
 */
export function compileHeaders(headers: IstioHeaders | undefined): HeaderPolicy | undefined {
  if (!headers) return undefined;
  const request = compileOperations(headers.request);
  const response = compileOperations(headers.response);
  if (!request && !response) return undefined;
  return { ...(request ? { request } : {}), ...(response ? { response } : {}) };
}

function compileOperations(ops: IstioHeaders["request"]): HeaderOperations | undefined {
  if (!ops) return undefined;
  const lower = (map: Record<string, string> | undefined) =>
    map && Object.keys(map).length > 0
      ? Object.fromEntries(Object.entries(map).map(([k, v]) => [k.toLowerCase(), v]))
      : undefined;
  const set = lower(ops.set);
  const add = lower(ops.add);
  const remove = ops.remove?.length ? ops.remove.map((n) => n.toLowerCase()) : undefined;
  if (!set && !add && !remove) return undefined;
  return { ...(set ? { set } : {}), ...(add ? { add } : {}), ...(remove ? { remove } : {}) };
}

/** Istio `HTTPRedirect` → snapshot redirect; 301 by default. */
export function compileRedirect(redirect: NonNullable<HttpRoute["redirect"]>): RedirectPolicy {
  const out: RedirectPolicy = { status: redirect.redirectCode ?? 301 };
  if (redirect.uri) out.uri = redirect.uri;
  if (redirect.authority) out.authority = redirect.authority;
  if (redirect.port) out.port = redirect.port;
  else if (redirect.derivePort) out.derivePort = redirect.derivePort;
  if (redirect.scheme === "http" || redirect.scheme === "https") out.scheme = redirect.scheme;
  return out;
}

/**
 * The uri rewrite of one match block: Envoy's `prefix_rewrite` replaces what the block's uri
 * matcher matched (the prefix; the whole path for exact and regex; `/` when the block has no uri
 * matcher, as Istio matches it with prefix `/`); `uriRegexRewrite` becomes `regex_rewrite`.
 */
export function compileUriRewrite(
  rewrite: NonNullable<HttpRoute["rewrite"]>,
  match: RouteMatch | undefined,
): UriRewrite | undefined {
  const regex = rewrite.uriRegexRewrite;
  if (regex?.match && regex.rewrite !== undefined)
    return { kind: "regex", pattern: regex.match, substitution: regex.rewrite };
  if (rewrite.uri === undefined || rewrite.uri === "") return undefined;
  const uri = match?.uri;
  if (uri && !("prefix" in uri)) return { kind: "path", replacement: rewrite.uri };
  const prefix = uri && "prefix" in uri ? uri.prefix : "/";
  return {
    kind: "prefix",
    prefix,
    replacement: rewrite.uri,
    ...(match?.ignoreUriCase ? { ignoreCase: true } : {}),
  };
}

/** Istio's retry policy when a route names none (`retry.DefaultPolicy`). */
export const DEFAULT_RETRY_POLICY: RetryPolicy = {
  attempts: 2,
  retryOn: ["connect-failure", "refused-stream", "unavailable", "cancelled", "retriable-status-codes"],
  retriableStatusCodes: [503],
  backoffBaseMs: DEFAULT_RETRY_BACKOFF_MS,
};

/**
 * Istio `retry.ConvertPolicy`: unset → undefined (the default policy applies); `attempts` 0 →
 * no retries; numbers in `retryOn` become retriable status codes (and turn on
 * `retriable-status-codes`); an unset `retryOn` keeps the default conditions.
 *
 * @example
 * ```ts
 * compileRetries({ attempts: 3, retryOn: "gateway-error,409" });
 * // { attempts: 3, retryOn: ["gateway-error", "retriable-status-codes"], retriableStatusCodes: [409], backoffBaseMs: 25 }
 * ```
 */
export function compileRetries(retries: HttpRoute["retries"]): RetryPolicy | undefined {
  if (!retries) return undefined;
  const attempts = retries.attempts ?? 0;
  if (attempts <= 0) return NO_RETRIES;
  const out: RetryPolicy = { ...DEFAULT_RETRY_POLICY, attempts };
  out.retryOn = [...DEFAULT_RETRY_POLICY.retryOn];
  out.retriableStatusCodes = [...DEFAULT_RETRY_POLICY.retriableStatusCodes];
  if (retries.retryOn) {
    const conditions: RetryCondition[] = [];
    const codes: number[] = [];
    for (const raw of retries.retryOn.split(",")) {
      const part = raw.trim();
      if (part === "") continue;
      if (/^\d+$/.test(part)) codes.push(Number(part));
      else if (!conditions.includes(part as RetryCondition)) conditions.push(part as RetryCondition);
    }
    if (codes.length > 0 && !conditions.includes("retriable-status-codes"))
      conditions.push("retriable-status-codes");
    out.retryOn = conditions;
    out.retriableStatusCodes = codes;
  }
  const perTry = retries.perTryTimeout ? parseDurationMs(retries.perTryTimeout) : undefined;
  if (perTry !== undefined) out.perTryTimeoutMs = perTry;
  const backoff = retries.backoff ? parseDurationMs(retries.backoff) : undefined;
  if (backoff !== undefined) out.backoffBaseMs = backoff;
  return out;
}

/** Istio `HTTPFaultInjection`; undefined when neither part can ever fire. */
export function compileFault(fault: HttpRoute["fault"]): FaultPolicy | undefined {
  if (!fault) return undefined;
  const out: FaultPolicy = {};
  const delay = fault.delay;
  const delayMs = delay?.fixedDelay ? parseDurationMs(delay.fixedDelay) : undefined;
  if (delay && delayMs !== undefined) {
    out.delay = { fixedDelayMs: delayMs, percentage: delay.percentage?.value ?? delay.percent ?? 0 };
  }
  const abort = fault.abort;
  const grpcStatus = abort?.grpcStatus === undefined ? undefined : grpcStatusCode(abort.grpcStatus);
  if (abort && (abort.httpStatus !== undefined || grpcStatus !== undefined)) {
    out.abort = {
      percentage: abort.percentage?.value ?? 0,
      ...(abort.httpStatus !== undefined ? { httpStatus: abort.httpStatus } : {}),
      ...(abort.httpStatus === undefined && grpcStatus !== undefined ? { grpcStatus } : {}),
    };
  }
  return out.delay || out.abort ? out : undefined;
}

/** A gRPC status given by name (`UNAVAILABLE`) or number (`14`); undefined if neither. */
export function grpcStatusCode(status: string): number | undefined {
  const upper = status.trim().toUpperCase();
  if (/^\d+$/.test(upper)) return Number(upper) <= 16 ? Number(upper) : undefined;
  return GRPC_STATUS_CODES[upper];
}

/**
 * Istio `CorsPolicy` → Envoy's: lists joined with `,`, `maxAge` in seconds; the deprecated
 * `allowOrigin` strings are exact matches (`*` allows all). Undefined when no origin is allowed:
 * Envoy's filter then does nothing.
 */
export function compileCors(policy: HttpRoute["corsPolicy"]): CorsPolicy | undefined {
  if (!policy) return undefined;
  const allowOrigins: StringMatch[] = [];
  for (const m of policy.allowOrigins ?? []) {
    if (m.exact !== undefined) allowOrigins.push({ exact: m.exact });
    else if (m.prefix !== undefined) allowOrigins.push({ prefix: m.prefix });
    else if (m.regex !== undefined) allowOrigins.push({ regex: m.regex });
  }
  for (const origin of policy.allowOrigin ?? []) allowOrigins.push({ exact: origin });
  if (allowOrigins.length === 0) return undefined;
  const out: CorsPolicy = {
    allowOrigins,
    unmatchedPreflights: policy.unmatchedPreflights === "IGNORE" ? "IGNORE" : "FORWARD",
  };
  if (policy.allowMethods?.length) out.allowMethods = policy.allowMethods.join(",");
  if (policy.allowHeaders?.length) out.allowHeaders = policy.allowHeaders.join(",");
  if (policy.exposeHeaders?.length) out.exposeHeaders = policy.exposeHeaders.join(",");
  const maxAgeMs = policy.maxAge ? parseDurationMs(policy.maxAge) : undefined;
  if (maxAgeMs !== undefined) out.maxAge = String(Math.floor(maxAgeMs / 1000));
  if (policy.allowCredentials !== undefined) out.allowCredentials = policy.allowCredentials;
  return out;
}
