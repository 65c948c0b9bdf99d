import type { Cluster, Route, WeightedCluster } from "../../control/compile/snapshot.ts";
import { pickWeighted } from "./decide-route.ts";
import type { MatchInput } from "./request-match.ts";
import { authorityPort, findVirtualHost, type RouteTable } from "./route-table.ts";

/** What the engine knows about a TCP connection to route. */
export interface ConnectionFacts {
  /** The destination as `host:port` (e.g. `mysql:3306`), as an HTTP CONNECT target names it. */
  authority: string;
  /** Labels of the calling workload (`sourceLabels`). */
  sourceLabels?: Record<string, string>;
  /** Namespace of the calling workload (`sourceNamespace`). */
  sourceNamespace?: string;
}

/**
 * Where a TCP connection goes: `forward` to a cluster; `noCluster` when the picked destination's
 * cluster does not exist (fail closed, Envoy's `NC`); `noRoute` when no host or rule matches.
 */
export type TcpRouteDecision =
  | { kind: "forward"; cluster: Cluster; route: Route; destination: WeightedCluster }
  | { kind: "noCluster"; route: Route; cluster: string }
  | { kind: "noRoute"; reason: string };

const NO_HEADERS: Readonly<Record<string, string | undefined>> = {};

/**
 * Decides a TCP connection: the virtual host of its authority, then the first of the host's TCP
 * routes (VirtualService `tcp` rules or the Service's default routes) whose matches hold (`port`,
 * source labels and namespace), then a destination by weight.
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
  const vh = findVirtualHost(table, conn.authority);
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
  };
  const matched = routes.find((r) => r.matches.length === 0 || r.matches.some((m) => m(input)));
  if (!matched) return { kind: "noRoute", reason: `no TCP route of ${vh.name} matches port ${port}` };
  const { route } = matched;
  if (route.action.kind !== "route")
    return { kind: "noRoute", reason: `${route.origin} answers HTTP only (${route.action.kind})` };
  const destination = pickWeighted(route.action.destinations, random);
  if (!destination) return { kind: "noRoute", reason: `${route.origin} has no destination with weight` };
  const cluster = table.clusters[destination.cluster];
  if (!cluster) return { kind: "noCluster", route, cluster: destination.cluster };
  return { kind: "forward", cluster, route, destination };
}
