import type { HttpRouteApiSpec } from "../model/gateway-api.ts";
import { routeKind } from "./gateway-api-index.ts";
import { hostMatches } from "./host-names.ts";
import type { Indexed } from "./resource-index.ts";

/**
 * Conflicts between route kinds, as the Gateway API resolves them. On a Gateway listener, an
 * HTTPRoute and a GRPCRoute whose hostnames intersect cannot both attach: the older one (then the
 * first by `namespace/name`) wins (GRPCRoute `spec.hostnames`). On a Service (GAMMA, GEP-1426),
 * a GRPCRoute wins over an HTTPRoute for the same Service port. The loser does not attach there
 * (`Accepted: False`, reason `Conflicted`).
 */

/**
 * The route of the other kind that takes `listener`-scoped hostnames away from `route`: one that
 * comes first in `routes` (oldest first), attaches to the same listener (`attaches`) and shares a
 * hostname with it (`hostsOf`: the route's hostnames on that listener). Undefined: no conflict.
 *
 * @example
 * ```ts
 * listenerRival(grpc, routes, (r) => attachesTo(r, listener), (r) => intersectHostnames(r.spec.hostnames, listener.hostname));
 * ```
 */
export function listenerRival(
  route: Indexed<HttpRouteApiSpec>,
  routes: readonly Indexed<HttpRouteApiSpec>[],
  attaches: (other: Indexed<HttpRouteApiSpec>) => boolean,
  hostsOf: (other: Indexed<HttpRouteApiSpec>) => string[],
): Indexed<HttpRouteApiSpec> | undefined {
  const kind = routeKind(route);
  const mine = hostsOf(route);
  for (const other of routes) {
    if (other === route) return undefined; // only older routes (earlier in the list) win
    if (routeKind(other) === kind || !attaches(other)) continue;
    if (hostsOverlap(mine, hostsOf(other))) return other;
  }
  return undefined;
}

/** Whether two hostname lists (exact names, `*.suffix` wildcards or `*`) can match a common host. */
export function hostsOverlap(a: readonly string[], b: readonly string[]): boolean {
  return a.some((x) => b.some((y) => hostMatches(x, y) || hostMatches(y, x)));
}

/** Specificity of route kinds on one Service port (GEP-1426): the first listed wins. */
const MESH_KIND_ORDER = ["GRPCRoute", "HTTPRoute"];

/**
 * Splits mesh attachments into those kept and those that lose to a more specific route kind on the
 * same Service port (`port` undefined: every port).
 *
 * @example
 * ```ts
 * const { kept, conflicted } = meshConflicts(attachments);
 * ```
 */
export function meshConflicts<A extends { route: Indexed<HttpRouteApiSpec>; port: number | undefined }>(
  attachments: readonly A[],
): { kept: A[]; conflicted: { loser: A; winner: A }[] } {
  const rank = (a: A) => MESH_KIND_ORDER.indexOf(routeKind(a.route));
  const kept: A[] = [];
  const conflicted: { loser: A; winner: A }[] = [];
  for (const a of attachments) {
    const winner = attachments.find(
      (b) => rank(b) < rank(a) && (a.port === undefined || b.port === undefined || a.port === b.port),
    );
    if (winner) conflicted.push({ loser: a, winner });
    else kept.push(a);
  }
  return { kept, conflicted };
}
