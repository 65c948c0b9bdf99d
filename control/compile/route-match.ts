import type { IstioStringMatch } from "../model/istio-fields.ts";
import { type HttpMatchRequest, MESH_GATEWAY } from "../model/virtual-service.ts";
import { resolveGatewayName } from "./resource-index.ts";
import type { ProxyIdentity, RouteMatch, StringMatch } from "./snapshot.ts";

/** A match as compiled: an HTTP match, or a `tcp` rule's match with its L4 fields. */
export type MatchRequest = HttpMatchRequest & { destinationSubnets?: string[]; sourceSubnet?: string };

/** True when a VirtualService bound to `gateways` (resolved) applies to this proxy. */
export function appliesToProxy(gateways: readonly string[], proxy: ProxyIdentity): boolean {
  if (proxy.role === "sidecar") return gateways.includes(MESH_GATEWAY);
  return gateways.some((g) => proxy.gateways?.includes(g) ?? false);
}

/**
 * Converts an Istio `match` list into the snapshot's matches for one proxy. Conditions about the
 * client workload (`sourceLabels`, `sourceNamespace`) and `gateways` are decided here, at compile
 * time, against this proxy (the proxy is the client of its outbound routes), as Istio does.
 * Returns undefined when the rule had matches but none applies to this proxy (drop the rule).
 *
 * @example
 * ```ts
 * toRouteMatches([{ headers: { "End-User": { exact: "jason" } } }], "default", proxy);
 * // [{ headers: { "end-user": { exact: "jason" } } }]
 * ```
 */
export function toRouteMatches(
  matches: readonly MatchRequest[] | undefined,
  namespace: string,
  proxy: ProxyIdentity,
): RouteMatch[] | undefined {
  if (!matches || matches.length === 0) return [];
  const out: RouteMatch[] = [];
  for (const m of matches) {
    if (
      m.gateways?.length &&
      !appliesToProxy(
        m.gateways.map((g) => resolveGatewayName(g, namespace)),
        proxy,
      )
    )
      continue;
    if (m.sourceLabels && !Object.entries(m.sourceLabels).every(([k, v]) => proxy.labels[k] === v)) continue;
    if (m.sourceNamespace !== undefined && m.sourceNamespace !== proxy.namespace) continue;
    out.push(convertMatch(m));
  }
  return out.length > 0 ? out : undefined;
}

function convertMatch(m: MatchRequest): RouteMatch {
  const out: RouteMatch = {};
  if (m.name !== undefined) out.name = m.name;
  const uri = toStringMatch(m.uri);
  if (uri) out.uri = uri;
  const method = toStringMatch(m.method);
  if (method) out.method = method;
  const authority = toStringMatch(m.authority);
  if (authority) out.authority = authority;
  const scheme = toStringMatch(m.scheme);
  if (scheme) out.scheme = scheme;
  if (m.headers) out.headers = toPresenceMap(m.headers, false);
  if (m.withoutHeaders) out.withoutHeaders = toPresenceMap(m.withoutHeaders, true);
  if (m.queryParams) out.queryParams = toPresenceMap(m.queryParams, false, false);
  if (m.port !== undefined) out.port = m.port;
  if (m.ignoreUriCase) out.ignoreUriCase = true;
  if (m.destinationSubnets?.length) out.destinationSubnets = [...m.destinationSubnets];
  if (m.sourceSubnet !== undefined) out.sourceSubnet = m.sourceSubnet;
  return out;
}

/** One of exact/prefix/regex; undefined for an empty matcher. */
export function toStringMatch(m: IstioStringMatch | undefined): StringMatch | undefined {
  if (m?.exact !== undefined) return { exact: m.exact };
  if (m?.prefix !== undefined) return { prefix: m.prefix };
  if (m?.regex !== undefined) return { regex: m.regex };
  return undefined;
}

/**
 * Header/query matchers: an empty matcher (`{}`) means "present", as in Istio/Envoy; for
 * withoutHeaders, regex "*" also means present. `exact: ""` stays an exact match on an empty
 * value. Header names are lower-cased; query parameter names are case-sensitive.
 */
function toPresenceMap(
  entries: Record<string, IstioStringMatch>,
  starIsPresent: boolean,
  lowerCase = true,
): Record<string, StringMatch | { present: true }> {
  const out: Record<string, StringMatch | { present: true }> = {};
  for (const [name, match] of Object.entries(entries)) {
    const converted = toStringMatch(match);
    out[lowerCase ? name.toLowerCase() : name] =
      converted === undefined || (starIsPresent && match.regex === "*") ? { present: true } : converted;
  }
  return out;
}
