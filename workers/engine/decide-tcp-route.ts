import type { Cluster, Route, WeightedCluster } from "../../control/compile/snapshot.ts";
import { parseIpAddress } from "../../control/model/ip-block.ts";
import { pickWeighted } from "./decide-route.ts";
import type { MatchInput } from "./request-match.ts";
import { authorityPort, findTcpVirtualHost, type RouteTable, stripPort } from "./route-table.ts";

/** What the engine knows about a TCP connection to route. */
export interface ConnectionFacts {
  /** The destination as `host:port` (e.g. `mysql:3306`), as an HTTP CONNECT target names it. */
  authority: string;
  /** Labels of the calling workload (`sourceLabels`). */
  sourceLabels?: Record<string, string>;
  /** Namespace of the calling workload (`sourceNamespace`). */
  sourceNamespace?: string;
  /**
   * The original destination IP (`destinationSubnets`, ServiceEntry CIDR `addresses`). Default: the
   * authority's host when it is an IP literal; a host name alone has none.
   */
  destinationIp?: string;
  /** The client's IP, as the proxy saw the connection come from (`sourceSubnet`). */
  sourceIp?: string;
}

/**
 * Where a TCP connection goes: `forward` to a cluster; `noCluster` when the picked destination's
 * cluster does not exist (fail closed, Envoy's `NC`); `blocked` by the REGISTRY_ONLY catch-all
 * (Istio's BlackHoleCluster: refuse with its `status`, flagged `NR`); `noRoute` when no host or rule
 * matches.
 */
export type TcpRouteDecision =
  | { kind: "forward"; cluster: Cluster; route: Route; destination: WeightedCluster }
  | { kind: "noCluster"; route: Route; cluster: string }
  | { kind: "blocked"; route: Route; status: number }
  | { kind: "noRoute"; reason: string };

const NO_HEADERS: Readonly<Record<string, string | undefined>> = {};

/**
 * Decides a TCP connection: the virtual host of its authority (or of the CIDR block holding its
 * original destination IP), then the first of the host's TCP routes (VirtualService `tcp` rules or
 * the Service's default routes) whose matches hold (`port`, source labels and namespace,
 * `destinationSubnets`, `sourceSubnet`), then a destination by weight.
 *
 * @example
 * ```ts
 * decideTcpRoute(table, { authority: "mysql:3306" }, Math.random);
 * // { kind: "forward", cluster: { name: "outbound|3306||mysql.default.svc.cluster.local", ... }, ... }
 * ```
 */
export function decideTcpRoute(
  table: RouteTable,
  conn: ConnectionFacts,
  random: () => number,
): TcpRouteDecision {
  const destinationIp = parseIpAddress(conn.destinationIp ?? stripPort(conn.authority));
  const sourceIp = conn.sourceIp === undefined ? undefined : parseIpAddress(conn.sourceIp);
  const vh = findTcpVirtualHost(table, conn.authority, destinationIp);
  if (!vh) return { kind: "noRoute", reason: `no virtual host for "${conn.authority}"` };
  const routes = vh.tcpRoutes ?? vh.routes;
  const port = authorityPort(conn.authority);
  if (port === undefined) return { kind: "noRoute", reason: `"${conn.authority}" names no port` };
  const input: MatchInput = {
    path: "/",
    method: "CONNECT",
    authority: conn.authority,
    scheme: "http",
    headers: NO_HEADERS,
    port,
    query: () => new Map(),
    sourceLabels: conn.sourceLabels,
    sourceNamespace: conn.sourceNamespace,
    ...(destinationIp ? { destinationIp } : {}),
    ...(sourceIp ? { sourceIp } : {}),
  };
  const matched = routes.find((r) => r.matches.length === 0 || r.matches.some((m) => m(input)));
  if (!matched) return { kind: "noRoute", reason: `no TCP route of ${vh.name} matches port ${port}` };
  const { route } = matched;
  if (route.action.kind === "directResponse" && route.action.flag === "NR")
    return { kind: "blocked", route, status: route.action.status };
  if (route.action.kind !== "route")
    return { kind: "noRoute", reason: `${route.origin} answers HTTP only (${route.action.kind})` };
  const destination = pickWeighted(route.action.destinations, random);
  if (!destination) return { kind: "noRoute", reason: `${route.origin} has no destination with weight` };
  const cluster = table.clusters[destination.cluster];
  if (!cluster) return { kind: "noCluster", route, cluster: destination.cluster };
  return { kind: "forward", cluster, route, destination };
}
