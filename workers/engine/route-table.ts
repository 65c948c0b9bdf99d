import type { Cluster, Route, Snapshot } from "../../control/compile/snapshot.ts";
import { type IpBlock, ipBlockContains, parseIpBlock } from "../../control/model/ip-block.ts";
import { type CompiledMatch, compileRouteMatch } from "./request-match.ts";
import { buildRouteIndex, type RouteIndex } from "./route-index.ts";

/** A route with its matches compiled; an empty `matches` list matches every request. */
export interface CompiledRoute {
  route: Route;
  matches: CompiledMatch[];
}

/** A virtual host ready for matching. */
export interface CompiledVirtualHost {
  name: string;
  routes: CompiledRoute[];
  /** Candidate routes by path (see route-index.ts); none for a host with few routes. */
  index?: RouteIndex;
  /** Routes of TCP connections (`VirtualHost.tcpRoutes`); absent when the host has none. */
  tcpRoutes?: CompiledRoute[];
}

/**
 * A snapshot prepared for request routing: exact domains in a map, wildcard domains by suffix,
 * the `*` catch-all, and every regex compiled. Immutable; build a new one per snapshot.
 */
export interface RouteTable {
  /** Version of the snapshot the table was built from. */
  readonly version: string;
  readonly exact: ReadonlyMap<string, CompiledVirtualHost>;
  /** `*.example.com` is stored as ".example.com", `*foo.com` as "foo.com": the part after `*`. */
  readonly wildcards: ReadonlyMap<string, CompiledVirtualHost>;
  readonly catchAll: CompiledVirtualHost | undefined;
  readonly clusters: Readonly<Record<string, Cluster>>;
  /** CIDR blocks of hosts (`VirtualHost.subnets`), longest prefix first; empty when none. */
  readonly subnets: readonly SubnetHost[];
}

/** One CIDR block of a host and the ports it takes there. */
export interface SubnetHost {
  block: IpBlock;
  ports: ReadonlySet<number>;
  host: CompiledVirtualHost;
}

/**
 * Builds the route table of a snapshot. When two virtual hosts claim a domain, the first (the
 * snapshot's order) wins, as in Envoy where duplicates are rejected and Istio keeps the first.
 *
 * @example
 * ```ts
 * const table = buildRouteTable(snapshot);
 * const decision = decideRoute(table, facts, Math.random);
 * ```
 */
export function buildRouteTable(snapshot: Snapshot): RouteTable {
  const exact = new Map<string, CompiledVirtualHost>();
  const wildcards = new Map<string, CompiledVirtualHost>();
  let catchAll: CompiledVirtualHost | undefined;
  const subnets: SubnetHost[] = [];
  for (const vh of snapshot.virtualHosts) {
    const compiled: CompiledVirtualHost = {
      name: vh.name,
      routes: vh.routes.map((route) => ({ route, matches: route.match.map(compileRouteMatch) })),
      index: buildRouteIndex(vh.routes.map((route) => route.match)),
      ...(vh.tcpRoutes
        ? { tcpRoutes: vh.tcpRoutes.map((route) => ({ route, matches: route.match.map(compileRouteMatch) })) }
        : {}),
    };
    for (const raw of vh.domains) {
      const domain = raw.toLowerCase();
      if (domain === "*") catchAll ??= compiled;
      else if (domain.startsWith("*")) {
        if (!wildcards.has(domain.slice(1))) wildcards.set(domain.slice(1), compiled);
      } else if (!exact.has(domain)) exact.set(domain, compiled);
    }
    for (const cidr of vh.subnets?.cidrs ?? []) {
      const block = parseIpBlock(cidr);
      if (block) subnets.push({ block, ports: new Set(vh.subnets?.ports), host: compiled });
    }
  }
  // Stable sort: on equal prefixes the snapshot's order (the first host) wins, as for domains.
  subnets.sort((a, b) => b.block.prefix - a.block.prefix);
  return { version: snapshot.version, exact, wildcards, catchAll, clusters: snapshot.clusters, subnets };
}

/**
 * Finds the virtual host of a TCP connection: its authority's exact or wildcard domain, else the
 * host whose CIDR block (ServiceEntry `addresses`) holds the original destination IP on that port
 * (longest prefix), else `*`, as Envoy's filter chains match the destination IP before falling
 * through to the passthrough chain.
 *
 * @example
 * ```ts
 * findTcpVirtualHost(table, "192.168.3.4:5432", parseIpAddress("192.168.3.4"))?.name; // "db.internal"
 * ```
 */
export function findTcpVirtualHost(
  table: RouteTable,
  authority: string,
  destinationIp: Uint8Array | undefined,
): CompiledVirtualHost | undefined {
  const host = authority.toLowerCase();
  const stripped = stripPort(host);
  const named = lookup(table, host) ?? (stripped !== host ? lookup(table, stripped) : undefined);
  if (named) return named;
  const port = authorityPort(host);
  if (destinationIp && port !== undefined)
    for (const subnet of table.subnets)
      if (subnet.ports.has(port) && ipBlockContains(subnet.block, destinationIp)) return subnet.host;
  return table.catchAll;
}

/**
 * Finds the virtual host for an authority: exact, then the longest wildcard suffix (the wildcard
 * matches at least one character), then the same two with the port stripped, then `*`.
 * Cost depends on the authority's length, not on the number of domains.
 */
export function findVirtualHost(table: RouteTable, authority: string): CompiledVirtualHost | undefined {
  const host = authority.toLowerCase();
  const found = lookup(table, host);
  if (found) return found;
  const stripped = stripPort(host);
  return (stripped !== host ? lookup(table, stripped) : undefined) ?? table.catchAll;
}

function lookup(table: RouteTable, host: string): CompiledVirtualHost | undefined {
  const exact = table.exact.get(host);
  if (exact || table.wildcards.size === 0) return exact;
  for (let i = 1; i < host.length; i++) {
    const vh = table.wildcards.get(host.slice(i));
    if (vh) return vh;
  }
  return undefined;
}

/** `host:port` → `host`; `[::1]:80` → `[::1]`; a bare IPv6 address is left alone. */
export function stripPort(authority: string): string {
  if (authority.startsWith("[")) {
    const end = authority.indexOf("]");
    return end >= 0 && /^:\d+$/.test(authority.slice(end + 1)) ? authority.slice(0, end + 1) : authority;
  }
  const colon = authority.indexOf(":");
  // No colon, or several: a bare IPv6 address has no port.
  if (colon < 0 || authority.indexOf(":", colon + 1) >= 0) return authority;
  return /^\d+$/.test(authority.slice(colon + 1)) ? authority.slice(0, colon) : authority;
}

/** The port in an authority, if it has one. */
export function authorityPort(authority: string): number | undefined {
  const stripped = stripPort(authority);
  return stripped === authority ? undefined : Number(authority.slice(stripped.length + 1));
}
