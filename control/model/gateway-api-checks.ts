import type { ResourceMetadata } from "../../broker/events.ts";
import type { PathSegment, Reporter } from "./diagnostics.ts";
import {
  FILTER_FIELDS,
  type GatewayClassSpec,
  type HeaderModifier,
  type HttpRouteApiSpec,
  type HttpRouteFilter,
  type HttpRouteRule,
  isServiceRef,
  type KubernetesGatewaySpec,
  type Listener,
  type ReferenceGrantSpec,
} from "./gateway-api.ts";
import { checkDuration, checkHeaderName, checkLabels, checkPort, checkRegex } from "./istio-fields.ts";
import { isHostName, isIpAddress } from "./names.ts";

/**
 * Semantic rules of the Gateway API kinds that the schemas cannot say, as the project's CRD
 * validation (CEL rules) and webhook enforce them: every problem names its field and the fix.
 */

const REDIRECT_CODES = [301, 302, 303, 307, 308];
/** Filters that may appear once per rule (RequestMirror and ExtensionRef may repeat). */
const ONCE = new Set([
  "RequestHeaderModifier",
  "ResponseHeaderModifier",
  "RequestRedirect",
  "URLRewrite",
  "CORS",
]);

/** HTTPRoute checks. */
export function checkHttpRouteApi(spec: HttpRouteApiSpec, report: Reporter): void {
  (spec.hostnames ?? []).forEach((h, i) => {
    checkHostname(h, ["spec", "hostnames", i], report);
  });
  (spec.parentRefs ?? []).forEach((p, i) => {
    checkPort(p.port, ["spec", "parentRefs", i, "port"], report);
  });
  (spec.rules ?? []).forEach((rule, i) => {
    checkRule(rule, ["spec", "rules", i], report);
  });
}

function checkRule(rule: HttpRouteRule, at: PathSegment[], report: Reporter): void {
  (rule.matches ?? []).forEach((m, j) => {
    const path = [...at, "matches", j];
    const value = m.path?.value ?? "/";
    const type = m.path?.type ?? "PathPrefix";
    if (type === "RegularExpression") checkRegex(value, [...path, "path", "value"], report);
    else if (!value.startsWith("/"))
      report.error(
        "JIBE1013",
        [...path, "path", "value"],
        `path "${value}" must start with "/", e.g. "/${value}"`,
      );
    for (const kind of ["headers", "queryParams"] as const) {
      const seen = new Set<string>();
      (m[kind] ?? []).forEach((h, k) => {
        const key = kind === "headers" ? h.name.toLowerCase() : h.name;
        if (seen.has(key))
          report.error(
            "JIBE1018",
            [...path, kind, k, "name"],
            `${kind} "${h.name}" is matched twice; keep one entry per name`,
          );
        seen.add(key);
        if (kind === "headers") checkHeaderName(h.name, [...path, kind, k, "name"], report);
        if (h.type === "RegularExpression") checkRegex(h.value, [...path, kind, k, "value"], report);
      });
    }
  });
  const filters = rule.filters ?? [];
  checkFilters(filters, [...at, "filters"], report);
  if (rule.sessionPersistence !== undefined)
    report.warn(
      "JIBE1013",
      [...at, "sessionPersistence"],
      "sessionPersistence is accepted but not enforced by Jibe yet",
    );
  const has = (type: string) => filters.some((f) => f.type === type);
  if (has("RequestRedirect") && has("URLRewrite"))
    report.error(
      "JIBE1022",
      [...at, "filters"],
      "RequestRedirect and URLRewrite cannot be used in the same rule; keep one",
    );
  if (has("RequestRedirect") && (rule.backendRefs?.length ?? 0) > 0)
    report.error(
      "JIBE1022",
      [...at, "backendRefs"],
      "a rule with a RequestRedirect filter cannot have backendRefs; remove one of them",
    );
  const prefixReplaced = filters.some(
    (f) => (f.requestRedirect?.path ?? f.urlRewrite?.path)?.type === "ReplacePrefixMatch",
  );
  if (prefixReplaced) {
    (rule.matches ?? []).forEach((m, j) => {
      if ((m.path?.type ?? "PathPrefix") !== "PathPrefix")
        report.error(
          "JIBE1022",
          [...at, "matches", j, "path", "type"],
          "ReplacePrefixMatch works only with PathPrefix matches; use ReplaceFullPath or a PathPrefix match",
        );
    });
  }
  (rule.backendRefs ?? []).forEach((ref, j) => {
    const path = [...at, "backendRefs", j];
    if (isServiceRef(ref) && ref.port === undefined)
      report.error(
        "JIBE1012",
        [...path, "port"],
        `backendRef "${ref.name}" needs a port; add the Service port, e.g. port: 80`,
      );
    checkPort(ref.port, [...path, "port"], report);
    if (ref.weight !== undefined && (ref.weight < 0 || ref.weight > 1_000_000))
      report.error("JIBE1015", [...path, "weight"], `weight ${ref.weight} is out of range; use 0 to 1000000`);
    checkFilters(ref.filters ?? [], [...path, "filters"], report);
  });
  checkDuration(
    rule.timeouts?.request === "0s" ? undefined : rule.timeouts?.request,
    [...at, "timeouts", "request"],
    report,
  );
  checkDuration(rule.timeouts?.backendRequest, [...at, "timeouts", "backendRequest"], report);
  checkDuration(rule.retry?.backoff, [...at, "retry", "backoff"], report);
  if (rule.retry?.attempts !== undefined && rule.retry.attempts < 0)
    report.error("JIBE1013", [...at, "retry", "attempts"], "attempts must be 0 or more");
  (rule.retry?.codes ?? []).forEach((c, k) => {
    if (c < 400 || c > 599)
      report.error("JIBE1013", [...at, "retry", "codes", k], `retry code ${c} must be a 4xx or 5xx status`);
  });
}

export function checkFilters(filters: readonly HttpRouteFilter[], at: PathSegment[], report: Reporter): void {
  const seen = new Set<string>();
  filters.forEach((f, i) => {
    const path = [...at, i];
    if (ONCE.has(f.type) && seen.has(f.type))
      report.error(
        "JIBE1018",
        [...path, "type"],
        `filter ${f.type} appears twice in one rule; merge them into one`,
      );
    seen.add(f.type);
    const field = FILTER_FIELDS[f.type];
    for (const other of Object.values(FILTER_FIELDS)) {
      if (other === field && f[other] === undefined)
        report.error("JIBE1012", [...path, other], `filter type ${f.type} needs its ${other} field`);
      if (other !== field && f[other] !== undefined)
        report.error(
          "JIBE1022",
          [...path, other],
          `${other} cannot be set on a ${f.type} filter; move it to a filter of its own type`,
        );
    }
    checkHeaderModifier(f.requestHeaderModifier, [...path, "requestHeaderModifier"], report);
    checkHeaderModifier(f.responseHeaderModifier, [...path, "responseHeaderModifier"], report);
    const redirect = f.requestRedirect;
    if (redirect?.statusCode !== undefined && !REDIRECT_CODES.includes(redirect.statusCode))
      report.error(
        "JIBE1013",
        [...path, "requestRedirect", "statusCode"],
        `statusCode ${redirect.statusCode} is not a redirect code; use one of ${REDIRECT_CODES.join(", ")}`,
      );
    if (redirect?.hostname !== undefined)
      checkHostname(redirect.hostname, [...path, "requestRedirect", "hostname"], report, false);
    checkPort(redirect?.port, [...path, "requestRedirect", "port"], report);
    if (f.urlRewrite?.hostname !== undefined)
      checkHostname(f.urlRewrite.hostname, [...path, "urlRewrite", "hostname"], report, false);
    for (const [name, modifier] of [
      ["requestRedirect", redirect?.path],
      ["urlRewrite", f.urlRewrite?.path],
    ] as const) {
      if (!modifier) continue;
      const field = modifier.type === "ReplaceFullPath" ? "replaceFullPath" : "replacePrefixMatch";
      if (modifier[field] === undefined)
        report.error("JIBE1012", [...path, name, "path", field], `path type ${modifier.type} needs ${field}`);
    }
    const mirror = f.requestMirror;
    if (mirror?.percent !== undefined && mirror.fraction !== undefined)
      report.error("JIBE1022", [...path, "requestMirror"], "set percent or fraction, not both");
    if (mirror?.percent !== undefined && (mirror.percent < 0 || mirror.percent > 100))
      report.error("JIBE1013", [...path, "requestMirror", "percent"], "percent must be between 0 and 100");
    const fraction = mirror?.fraction;
    if (
      fraction &&
      (fraction.numerator < 0 ||
        fraction.numerator > (fraction.denominator ?? 100) ||
        (fraction.denominator ?? 100) <= 0)
    )
      report.error(
        "JIBE1013",
        [...path, "requestMirror", "fraction"],
        "fraction must satisfy 0 <= numerator <= denominator, denominator > 0",
      );
    if (mirror && isServiceRef(mirror.backendRef) && mirror.backendRef.port === undefined)
      report.error(
        "JIBE1012",
        [...path, "requestMirror", "backendRef", "port"],
        "a mirror backendRef to a Service needs a port",
      );
  });
}

function checkHeaderModifier(
  modifier: HeaderModifier | undefined,
  at: PathSegment[],
  report: Reporter,
): void {
  if (!modifier) return;
  for (const op of ["set", "add"] as const) {
    const seen = new Set<string>();
    (modifier[op] ?? []).forEach((h, i) => {
      checkHeaderName(h.name, [...at, op, i, "name"], report);
      if (seen.has(h.name.toLowerCase()))
        report.error(
          "JIBE1018",
          [...at, op, i, "name"],
          `header "${h.name}" is listed twice under ${op}; keep one`,
        );
      seen.add(h.name.toLowerCase());
    });
  }
  (modifier.remove ?? []).forEach((name, i) => {
    checkHeaderName(name, [...at, "remove", i], report);
  });
}

export function checkHostname(host: string, at: PathSegment[], report: Reporter, wildcard = true): void {
  const rest = wildcard && host.startsWith("*.") ? host.slice(2) : host;
  if (isIpAddress(rest) || !isHostName(rest))
    report.error(
      "JIBE1017",
      at,
      `hostname "${host}" is invalid; use a DNS name${wildcard ? ' (optionally with a leading "*.")' : ""}, not an IP address, e.g. "www.example.com"`,
    );
}

/** Gateway (KubernetesGateway) checks: listener names unique, ports and hostnames valid. */
export function checkKubernetesGateway(spec: KubernetesGatewaySpec, report: Reporter): void {
  const names = new Set<string>();
  spec.listeners.forEach((l, i) => {
    const at = ["spec", "listeners", i];
    if (names.has(l.name))
      report.error(
        "JIBE1018",
        [...at, "name"],
        `listener name "${l.name}" is used twice; names must be unique`,
      );
    names.add(l.name);
    checkPort(l.port, [...at, "port"], report);
    if (l.hostname !== undefined) checkHostname(l.hostname, [...at, "hostname"], report);
    const passthrough = l.protocol === "TLS" && l.tls?.mode === "Passthrough";
    if (!["HTTP", "HTTPS", "TCP"].includes(l.protocol) && !passthrough)
      report.warn(
        "JIBE1013",
        [...at, "protocol"],
        `protocol ${l.protocol}${l.protocol === "TLS" ? ` (tls.mode ${l.tls?.mode ?? "Terminate"})` : ""} is accepted but Jibe routes only HTTP and HTTPS listeners (HTTPRoute, GRPCRoute), TCP (TCPRoute) and TLS Passthrough (TLSRoute)`,
      );
    checkAllowedNamespaces(l, [...at, "allowedRoutes", "namespaces"], report);
    checkListenerTls(l, at, report);
  });
}

/** The CRD's TLS rules: HTTPS terminates with certificates; HTTP and TCP take no `tls`. */
function checkListenerTls(l: Listener, at: PathSegment[], report: Reporter): void {
  if (l.protocol === "HTTP" || l.protocol === "TCP") {
    if (l.tls)
      report.error("JIBE1022", [...at, "tls"], `tls must not be set on a ${l.protocol} listener; remove it`);
    return;
  }
  if (l.protocol !== "HTTPS") return;
  if (!l.tls)
    report.error(
      "JIBE1012",
      [...at, "tls"],
      "an HTTPS listener needs tls, e.g. tls: { mode: Terminate, certificateRefs: [{ name: my-cert }] }",
    );
  else if (l.tls.mode === "Passthrough")
    report.error(
      "JIBE1013",
      [...at, "tls", "mode"],
      "an HTTPS listener terminates TLS (mode Terminate); use protocol TLS for Passthrough",
    );
  else if (!l.tls.certificateRefs?.length && !l.tls.options)
    report.error(
      "JIBE1012",
      [...at, "tls", "certificateRefs"],
      "tls mode Terminate needs certificateRefs naming a Secret with tls.crt and tls.key",
    );
}

/**
 * `from: Selector` needs a `selector` (the CRD's CEL rule), whose expressions are well-formed:
 * In/NotIn with values, Exists/DoesNotExist without.
 */
function checkAllowedNamespaces(listener: Listener, at: PathSegment[], report: Reporter): void {
  const namespaces = listener.allowedRoutes?.namespaces;
  if (namespaces?.from === "Selector" && namespaces.selector === undefined)
    report.error(
      "JIBE1012",
      [...at, "selector"],
      'from: Selector needs a selector over Namespace labels, e.g. selector: { matchLabels: { team: "a" } }',
    );
  const selector = namespaces?.selector;
  if (!selector) return;
  checkLabels(selector.matchLabels, [...at, "selector", "matchLabels"], report);
  (selector.matchExpressions ?? []).forEach((e, i) => {
    const path = [...at, "selector", "matchExpressions", i, "values"];
    const wantsValues = e.operator === "In" || e.operator === "NotIn";
    if (wantsValues && !e.values?.length)
      report.error("JIBE1012", path, `operator ${e.operator} needs at least one value`);
    if (!wantsValues && e.values?.length)
      report.error("JIBE1022", path, `operator ${e.operator} takes no values; remove them`);
  });
}

/** ReferenceGrant checks: `from` entries are (group, kind, namespace); `to` (group, kind, name?). */
export function checkReferenceGrant(spec: ReferenceGrantSpec, report: Reporter): void {
  if (spec.from.length === 0) report.error("JIBE1012", ["spec", "from"], "from needs at least one entry");
  if (spec.to.length === 0) report.error("JIBE1012", ["spec", "to"], "to needs at least one entry");
}

/** GatewayClass: accepted and ignored (Jibe implements every class the same way). */
export function checkGatewayClass(
  _spec: GatewayClassSpec,
  report: Reporter,
  metadata?: ResourceMetadata,
): void {
  report.warn(
    "JIBE1013",
    ["spec", "controllerName"],
    `GatewayClass ${metadata?.name ?? ""} is accepted and ignored: Jibe serves every Gateway whatever its class`,
  );
}
