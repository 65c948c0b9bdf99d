import type { PathSegment, Reporter } from "./diagnostics.ts";
import { checkDuration, checkPercent, checkPort, checkRegex } from "./istio-fields.ts";
import type { HttpRoute } from "./virtual-service.ts";

/** Istio's rules for what an http rule does besides routing: retries, faults, redirect, rewrite. */

const RETRY_ON = new Set([
  "5xx",
  "gateway-error",
  "reset",
  "reset-before-request",
  "connect-failure",
  "envoy-ratelimited",
  "retriable-4xx",
  "refused-stream",
  "retriable-status-codes",
  "retriable-headers",
  "http3-post-connect-failure",
  "cancelled",
  "deadline-exceeded",
  "internal",
  "resource-exhausted",
  "unavailable",
]);

/** gRPC status names (and their codes) Istio accepts in `fault.abort.grpcStatus`. */
const GRPC_STATUS = new Set([
  ..."OK CANCELLED UNKNOWN INVALID_ARGUMENT DEADLINE_EXCEEDED NOT_FOUND ALREADY_EXISTS PERMISSION_DENIED".split(
    " ",
  ),
  ..."RESOURCE_EXHAUSTED FAILED_PRECONDITION ABORTED OUT_OF_RANGE UNIMPLEMENTED INTERNAL UNAVAILABLE".split(
    " ",
  ),
  "DATA_LOSS",
  "UNAUTHENTICATED",
  ...Array.from({ length: 17 }, (_, i) => String(i)),
]);

export function checkRetries(route: HttpRoute, path: readonly PathSegment[], report: Reporter): void {
  const retries = route.retries;
  if (!retries) return;
  const at = [...path, "retries"];
  const attempts = retries.attempts ?? 0;
  if (attempts < 0)
    report.error("JIBE1013", [...at, "attempts"], "attempts cannot be negative; use 0 to disable retries");
  if (
    attempts === 0 &&
    (retries.perTryTimeout || retries.retryOn || retries.retryRemoteLocalities !== undefined)
  ) {
    report.error(
      "JIBE1013",
      [...at, "attempts"],
      "retry settings are given but attempts is 0 (retries disabled); set attempts, e.g. 3",
    );
  }
  checkDuration(retries.perTryTimeout, [...at, "perTryTimeout"], report);
  checkDuration(retries.backoff, [...at, "backoff"], report);
  for (const policy of (retries.retryOn ?? "").split(",").filter((p) => p !== "")) {
    const status = Number(policy.trim());
    if (!RETRY_ON.has(policy.trim()) && !(Number.isInteger(status) && status >= 100 && status <= 599)) {
      report.error(
        "JIBE1013",
        [...at, "retryOn"],
        `"${policy}" is not a valid retryOn policy; use e.g. "5xx,connect-failure,503"`,
      );
    }
  }
}

export function checkFault(route: HttpRoute, path: readonly PathSegment[], report: Reporter): void {
  const fault = route.fault;
  if (!fault) return;
  const at = [...path, "fault"];
  if (!fault.abort && !fault.delay)
    report.error("JIBE1012", at, "fault injection needs abort and/or delay; add one");
  if (fault.abort) {
    const abort = fault.abort;
    checkPercent(abort.percentage?.value, [...at, "abort", "percentage", "value"], report);
    if (abort.http2Error !== undefined)
      report.error(
        "JIBE1013",
        [...at, "abort", "http2Error"],
        "HTTP/2 abort faults are not supported (as in Istio); use httpStatus",
      );
    const status = abort.httpStatus;
    if (status !== undefined && (status < 200 || status > 599)) {
      report.error(
        "JIBE1013",
        [...at, "abort", "httpStatus"],
        `HTTP status ${status} is not in range 200-599`,
      );
    }
    if (abort.grpcStatus !== undefined && !GRPC_STATUS.has(abort.grpcStatus.trim().toUpperCase())) {
      report.error(
        "JIBE1013",
        [...at, "abort", "grpcStatus"],
        `"${abort.grpcStatus}" is not a gRPC status; use a name such as "UNAVAILABLE" (or its code, 0-16)`,
      );
    }
    if (status === undefined && abort.grpcStatus === undefined && abort.http2Error === undefined) {
      report.warn(
        "JIBE1013",
        [...at, "abort"],
        "abort is configured but no error type is set; add httpStatus, e.g. 503",
      );
    }
  }
  if (fault.delay) {
    const delay = fault.delay;
    checkPercent(delay.percentage?.value, [...at, "delay", "percentage", "value"], report);
    checkDuration(delay.fixedDelay, [...at, "delay", "fixedDelay"], report);
    if (delay.exponentialDelay !== undefined)
      report.error(
        "JIBE1013",
        [...at, "delay", "exponentialDelay"],
        "exponentialDelay is not supported (as in Istio); use fixedDelay",
      );
    if (delay.percent !== undefined)
      report.warn(
        "JIBE1021",
        [...at, "delay", "percent"],
        "percent is deprecated; use percentage: { value: <0-100> }",
      );
  }
}

export function checkRedirect(route: HttpRoute, path: readonly PathSegment[], report: Reporter): void {
  const redirect = route.redirect;
  if (!redirect) return;
  const at = [...path, "redirect"];
  if (!redirect.uri && !redirect.authority && !redirect.port && !redirect.scheme && !redirect.derivePort) {
    report.error("JIBE1012", at, "redirect must set at least one of uri, authority, scheme or port");
  }
  const code = redirect.redirectCode;
  if (code !== undefined && (code < 300 || code > 399))
    report.error("JIBE1013", [...at, "redirectCode"], `${code} is not a redirect code; use 3xx, e.g. 301`);
  if (redirect.scheme !== undefined && redirect.scheme !== "http" && redirect.scheme !== "https") {
    report.error(
      "JIBE1013",
      [...at, "scheme"],
      `scheme "${redirect.scheme}" is invalid; use "http" or "https"`,
    );
  }
  checkPort(redirect.port, [...at, "port"], report);
}

export function checkRewrite(route: HttpRoute, path: readonly PathSegment[], report: Reporter): void {
  const rewrite = route.rewrite;
  if (!rewrite) return;
  const at = [...path, "rewrite"];
  if (rewrite.uri !== undefined && rewrite.uriRegexRewrite)
    report.error("JIBE1013", at, "use either uri or uriRegexRewrite, not both");
  if (rewrite.uri === undefined && !rewrite.uriRegexRewrite && rewrite.authority === undefined) {
    report.error("JIBE1012", at, "rewrite must set uri, uriRegexRewrite or authority");
  }
  const regexRewrite = rewrite.uriRegexRewrite;
  if (regexRewrite) {
    if (!regexRewrite.match || regexRewrite.rewrite === undefined) {
      report.error("JIBE1012", [...at, "uriRegexRewrite"], "uriRegexRewrite needs both match and rewrite");
    } else checkRegex(regexRewrite.match, [...at, "uriRegexRewrite", "match"], report);
  }
}
