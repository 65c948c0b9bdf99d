import { parseDurationMs } from "../model/duration.ts";
import {
  type BackendObjectRef,
  type HeaderModifier,
  type HttpRouteApiSpec,
  type HttpRouteFilter,
  type HttpRouteMatch,
  type HttpRouteRule,
  isServiceRef,
} from "../model/gateway-api.ts";
import { clusterName } from "./clusters.ts";
import { compileDiagnostic } from "./compile-diagnostics.ts";
import {
  compileGatewayCors,
  compileGatewayRedirect,
  compileGatewayRetry,
  prefixRewrite,
} from "./gateway-api-filters.ts";
import { isReferenceGranted, routeKind } from "./gateway-api-index.ts";
import { grpcMatchRank } from "./grpc-routes.ts";
import { serviceFqdn } from "./host-names.ts";
import type { Indexed, ResourceIndex } from "./resource-index.ts";
import { DEFAULT_RETRY_POLICY } from "./route-policies.ts";
import type {
  Diagnostic,
  HeaderOperations,
  HeaderPolicy,
  MirrorPolicy,
  RetryPolicy,
  RewritePolicy,
  Route,
  RouteAction,
  RouteMatch,
  WeightedCluster,
} from "./snapshot.ts";

/** What compiling an HTTPRoute needs and collects. */
export interface GatewayRouteContext {
  index: ResourceIndex;
  suffix: string;
  diagnostics: Diagnostic[];
}

/**
 * A compiled route with its Gateway API precedence: one per `matches` entry, so routes from
 * every HTTPRoute of a host can be merged and sorted (see {@link sortByPrecedence}).
 */
export interface RankedRoute {
  route: Route;
  rank: readonly (number | string)[];
}

/** The status the Gateway API requires when a rule has nowhere valid to send a request. */
export const NO_VALID_BACKEND_STATUS = 500;

/**
 * That status for a route: 500 for an HTTPRoute; 503 for a GRPCRoute, whose callers must get
 * `UNAVAILABLE` (503 is what the proxies answer gRPC clients as grpc-status 14).
 */
function noBackendStatus(route: Indexed<unknown>): number {
  return routeKind(route) === "GRPCRoute" ? 503 : NO_VALID_BACKEND_STATUS;
}

/**
 * Compiles the rules of one HTTPRoute into ranked snapshot routes. `port` restricts every route
 * to requests for that port (a parentRef `port`). A rule whose backends are all invalid, all
 * weighted 0 or absent answers 500; an invalid backend is reported (ResolvedRefs false) and its
 * share of requests answers 500.
 *
 * @example
 * ```ts
 * compileHttpRouteApi(route, undefined, ctx).map((r) => r.route.origin); // ["HTTPRoute/default/reviews#0"]
 * ```
 */
export function compileHttpRouteApi(
  route: Indexed<HttpRouteApiSpec>,
  port: number | undefined,
  ctx: GatewayRouteContext,
): RankedRoute[] {
  return (route.spec.rules ?? []).flatMap((rule, i) => compileRule(route, rule, i, port, ctx));
}

function compileRule(
  route: Indexed<HttpRouteApiSpec>,
  rule: HttpRouteRule,
  ruleIndex: number,
  port: number | undefined,
  ctx: GatewayRouteContext,
): RankedRoute[] {
  const at = `spec.rules[${ruleIndex}]`;
  const filters = rule.filters ?? [];
  const find = <T extends HttpRouteFilter["type"]>(type: T) => filters.find((f) => f.type === type);
  const headers = headerPolicy(find("RequestHeaderModifier"), find("ResponseHeaderModifier"));
  const cors = compileGatewayCors(find("CORS")?.cors);
  const mirrors = filters.flatMap((f, j) => {
    const m = f.requestMirror;
    if (!m) return [];
    const cluster = resolveBackend(route, m.backendRef, `${at}.filters[${j}].requestMirror.backendRef`, ctx);
    const percentage =
      m.percent ?? (m.fraction ? (m.fraction.numerator / (m.fraction.denominator ?? 100)) * 100 : 100);
    return cluster && percentage > 0 ? [{ cluster, percentage } satisfies MirrorPolicy] : [];
  });
  const matches = rule.matches?.length ? rule.matches : [{}];
  const extension = filters.findIndex((f) => f.type === "ExtensionRef");
  if (extension >= 0)
    ctx.diagnostics.push(
      compileDiagnostic(
        "error",
        "JIBE2062",
        route.ref,
        `${at}.filters[${extension}]`,
        "ExtensionRef filters are not implemented by Jibe: requests this rule matches answer 500; remove the filter",
      ),
    );
  const redirect = find("RequestRedirect")?.requestRedirect;
  const rewrite = find("URLRewrite")?.urlRewrite;
  const destinations = extension >= 0 || redirect ? [] : backends(route, rule, at, ctx);
  const action = (match: HttpRouteMatch): RouteAction => {
    if (extension >= 0) return { kind: "directResponse", status: noBackendStatus(route) };
    if (redirect)
      return { kind: "redirect", redirect: compileGatewayRedirect(redirect, pathPrefixOf(match)) };
    if (destinations.every((d) => d.unresolvedStatus !== undefined))
      return { kind: "directResponse", status: noBackendStatus(route) };
    const uri = rewrite?.path
      ? rewrite.path.type === "ReplaceFullPath"
        ? { kind: "path" as const, replacement: rewrite.path.replaceFullPath ?? "/" }
        : prefixRewrite(pathPrefixOf(match), rewrite.path.replacePrefixMatch ?? "/")
      : undefined;
    const rewritePolicy: RewritePolicy = {
      ...(uri ? { uri } : {}),
      ...(rewrite?.hostname ? { authority: rewrite.hostname } : {}),
    };
    const timeoutMs = requestTimeoutMs(rule.timeouts?.request);
    const retries = retryPolicy(rule);
    return {
      kind: "route",
      destinations,
      ...(timeoutMs !== undefined ? { timeoutMs } : {}),
      ...(retries ? { retries } : {}),
      ...(rewritePolicy.uri || rewritePolicy.authority ? { rewrite: rewritePolicy } : {}),
      ...(mirrors.length > 0 ? { mirrors } : {}),
    };
  };
  const origin = `${route.ref}#${ruleIndex}`;
  // A GRPCRoute (compiled as its equivalent HTTPRoute) keeps its own precedence.
  const grpc = ctx.index.gatewayApi.grpcSpecs.get(route.ref);
  return matches.map((match, matchIndex) => ({
    route: {
      origin,
      ...(rule.name ? { name: rule.name } : {}),
      match: toRouteMatches(match, port),
      action: action(match),
      ...(headers ? { headers } : {}),
      ...(cors ? { cors } : {}),
    },
    rank: grpc
      ? [
          ...grpcMatchRank(grpc.rules?.[ruleIndex]?.matches?.[matchIndex]),
          ...order(route, ruleIndex, matchIndex),
        ]
      : precedence(match, route, ruleIndex, matchIndex),
  }));
}

/** The Gateway API's default request timeout is none; "0s" also means none. */
function requestTimeoutMs(text: string | undefined): number | undefined {
  const ms = text === undefined ? undefined : parseDurationMs(text);
  return ms === undefined || ms <= 0 ? undefined : ms;
}

/** `retry` (Istio's translation) with `timeouts.backendRequest` as the per-try timeout. */
function retryPolicy(rule: HttpRouteRule): RetryPolicy | undefined {
  const perTry = requestTimeoutMs(rule.timeouts?.backendRequest);
  const base = compileGatewayRetry(rule.retry);
  if (perTry === undefined) return base;
  return { ...(base ?? DEFAULT_RETRY_POLICY), perTryTimeoutMs: perTry };
}

function backends(
  route: Indexed<HttpRouteApiSpec>,
  rule: HttpRouteRule,
  at: string,
  ctx: GatewayRouteContext,
): WeightedCluster[] {
  const out: WeightedCluster[] = [];
  (rule.backendRefs ?? []).forEach((ref, i) => {
    const weight = ref.weight ?? 1;
    const cluster = resolveBackend(route, ref, `${at}.backendRefs[${i}]`, ctx);
    if (weight <= 0) return;
    if (!cluster) {
      // Its share of requests answers 500; the cluster name exists nowhere.
      const name = `unresolved|${ref.namespace ?? route.namespace}/${ref.name}`;
      out.push({ cluster: name, weight, unresolvedStatus: noBackendStatus(route) });
      return;
    }
    const filters = ref.filters ?? [];
    const headers = headerPolicy(
      filters.find((f) => f.type === "RequestHeaderModifier"),
      filters.find((f) => f.type === "ResponseHeaderModifier"),
    );
    out.push({ cluster, weight, ...(headers ? { headers } : {}) });
  });
  return out;
}

/**
 * A backendRef's cluster, or undefined (reported as JIBE2061 at `at`) when it does not resolve:
 * not a Service, another namespace without a ReferenceGrant, no such Service or port.
 *
 * @example
 * ```ts
 * resolveBackend(route, { name: "reviews", port: 9080 }, "spec.rules[0].backendRefs[0]", ctx);
 * // "outbound|9080||reviews.default.svc.cluster.local"
 * ```
 */
export function resolveBackend(
  route: Indexed<unknown>,
  ref: BackendObjectRef,
  at: string,
  ctx: GatewayRouteContext,
): string | undefined {
  const owner = route.ref;
  const fail = (why: string) => {
    ctx.diagnostics.push(
      compileDiagnostic(
        "error",
        "JIBE2061",
        owner,
        at,
        `backendRef "${ref.name}" does not resolve (${why}); requests for it answer 500 (ResolvedRefs: False)`,
      ),
    );
    return undefined;
  };
  if (!isServiceRef(ref))
    return fail(
      `kind ${ref.group ? `${ref.group}/` : ""}${ref.kind} is not supported, InvalidKind; refer to a Service`,
    );
  const namespace = ref.namespace ?? route.namespace;
  if (
    namespace !== route.namespace &&
    !isReferenceGranted(ctx.index.gatewayApi, route.namespace, namespace, ref.name, routeKind(route))
  )
    return fail(
      `RefNotPermitted: namespace ${namespace} has no ReferenceGrant from ${routeKind(route)}s in ${route.namespace}; add one there`,
    );
  const fqdn = serviceFqdn(ref.name, namespace, ctx.suffix);
  const service = ctx.index.services.get(fqdn);
  if (!service) return fail(`BackendNotFound: no Service ${namespace}/${ref.name}`);
  const ports = service.ports.map((p) => p.port);
  if (ref.port === undefined || !ports.includes(ref.port))
    return fail(
      `port ${ref.port ?? "(none)"} is not a port of Service ${namespace}/${ref.name} (${ports.join(", ")})`,
    );
  return clusterName(ref.port, undefined, fqdn);
}

function headerPolicy(
  request: HttpRouteFilter | undefined,
  response: HttpRouteFilter | undefined,
): HeaderPolicy | undefined {
  const req = operations(request?.requestHeaderModifier);
  const res = operations(response?.responseHeaderModifier);
  if (!req && !res) return undefined;
  return { ...(req ? { request: req } : {}), ...(res ? { response: res } : {}) };
}

function operations(modifier: HeaderModifier | undefined): HeaderOperations | undefined {
  if (!modifier) return undefined;
  const map = (list: { name: string; value: string }[] | undefined) =>
    list?.length ? Object.fromEntries(list.map((h) => [h.name.toLowerCase(), h.value])) : undefined;
  const set = map(modifier.set);
  const add = map(modifier.add);
  const remove = modifier.remove?.length ? modifier.remove.map((n) => n.toLowerCase()) : undefined;
  if (!set && !add && !remove) return undefined;
  return { ...(set ? { set } : {}), ...(add ? { add } : {}), ...(remove ? { remove } : {}) };
}

/** A PathPrefix value without its trailing `/` ("/" stays "/"); undefined for other match types. */
function pathPrefixOf(match: HttpRouteMatch): string | undefined {
  if ((match.path?.type ?? "PathPrefix") !== "PathPrefix") return undefined;
  return trimSlash(match.path?.value ?? "/");
}

function trimSlash(path: string): string {
  const trimmed = path.replace(/\/+$/, "");
  return trimmed === "" ? "/" : trimmed;
}

/**
 * One Gateway API match as snapshot matches (OR). PathPrefix matches whole path elements:
 * `/foo` matches `/foo` and `/foo/…`, never `/foobar`, so it becomes exact `/foo` OR prefix `/foo/`.
 */
function toRouteMatches(match: HttpRouteMatch, port: number | undefined): RouteMatch[] {
  const base: RouteMatch = {};
  if (match.method) base.method = { exact: match.method };
  if (match.headers?.length)
    base.headers = Object.fromEntries(
      match.headers.map((h) => [
        h.name.toLowerCase(),
        h.type === "RegularExpression" ? { regex: h.value } : { exact: h.value },
      ]),
    );
  if (match.queryParams?.length)
    base.queryParams = Object.fromEntries(
      match.queryParams.map((q) => [
        q.name,
        q.type === "RegularExpression" ? { regex: q.value } : { exact: q.value },
      ]),
    );
  if (port !== undefined) base.port = port;
  const type = match.path?.type ?? "PathPrefix";
  const value = match.path?.value ?? "/";
  if (type === "Exact") return [{ ...base, uri: { exact: value } }];
  if (type === "RegularExpression") return [{ ...base, uri: { regex: value } }];
  const prefix = trimSlash(value);
  if (prefix === "/") return [base];
  return [
    { ...base, uri: { exact: prefix } },
    { ...base, uri: { prefix: `${prefix}/` } },
  ];
}

/**
 * The Gateway API match precedence as a sort key: Exact path, then (implementation-specific, as
 * Istio) RegularExpression, then the longest PathPrefix; then a method match; then most header
 * matches; then most query param matches; then the oldest route, `namespace/name`; then rule and
 * match order.
 */
function precedence(
  match: HttpRouteMatch,
  route: Indexed<HttpRouteApiSpec>,
  ruleIndex: number,
  matchIndex: number,
): (number | string)[] {
  const type = match.path?.type ?? "PathPrefix";
  const kind = type === "Exact" ? 0 : type === "RegularExpression" ? 1 : 2;
  const length =
    type === "PathPrefix" ? trimSlash(match.path?.value ?? "/").length : (match.path?.value ?? "").length;
  return [
    kind,
    -length,
    match.method ? 0 : 1,
    -(match.headers?.length ?? 0),
    -(match.queryParams?.length ?? 0),
    ...order(route, ruleIndex, matchIndex),
  ];
}

/** Ties: the oldest route, then `namespace/name`, then rule and match order. */
function order(route: Indexed<unknown>, ruleIndex: number, matchIndex: number): (number | string)[] {
  return [route.created, `${route.namespace}/${route.name}`, ruleIndex, matchIndex];
}

/**
 * Orders ranked routes by Gateway API precedence (stable); the engine then takes the first match.
 *
 * @example
 * ```ts
 * sortByPrecedence([...fromRouteA, ...fromRouteB]).map((r) => r.route);
 * ```
 */
export function sortByPrecedence(routes: readonly RankedRoute[]): Route[] {
  return [...routes]
    .sort((a, b) => {
      for (let i = 0; i < Math.max(a.rank.length, b.rank.length); i++) {
        const x = a.rank[i] ?? "";
        const y = b.rank[i] ?? "";
        if (x < y) return -1;
        if (x > y) return 1;
      }
      return 0;
    })
    .map((r) => r.route);
}
