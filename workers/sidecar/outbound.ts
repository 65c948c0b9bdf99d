import type { Logger } from "../../broker/logger.ts";
import type { ProxyIdentity } from "../../control/compile/snapshot.ts";
import type { LoadBalancerState } from "../engine/index.ts";
import { abortOnDownstreamClose } from "./downstream-close.ts";
import { selectEndpoint } from "./endpoint-selection.ts";
import { addForwardedHeaders } from "./forwarded-headers.ts";
import { stripHopByHopHeaders } from "./hop-by-hop.ts";
import { catchInternalErrors } from "./internal-error.ts";
import { type ListenerStats, recordStats } from "./listener-stats.ts";
import { compose, type Handler } from "./proxy-context.ts";
import { assignRequestId } from "./request-id.ts";
import { resolveTarget } from "./request-target.ts";
import { routeRequest } from "./route-decision.ts";
import type { RouteSource } from "./route-policy.ts";
import { applyRouteTimeout } from "./route-timeout.ts";
import { forwardUpstream } from "./upstream-forward.ts";
import type { UpstreamPool } from "./upstream-pool.ts";

/** What the outbound pipeline needs. */
export interface OutboundDeps {
  proxy: ProxyIdentity;
  routes: RouteSource;
  lb: LoadBalancerState;
  pool: UpstreamPool;
  stats: ListenerStats;
  random: () => number;
  randomUUID: () => string;
  log: Logger;
}

/**
 * The outbound pipeline (app → mesh), top to bottom as a request meets it. Its target authority
 * comes from the Host header or an absolute-form URI; the engine routes it to a cluster; an
 * endpoint of that cluster (another sidecar's inbound listener) receives it over a pooled connection.
 *
 * @example
 * ```ts
 * const handler = createOutboundPipeline({ proxy, routes, lb, pool, stats, random, randomUUID, log });
 * await startListener({ direction: "outbound", host, port, handler, log });
 * ```
 */
export function createOutboundPipeline(deps: OutboundDeps): Handler {
  return compose(
    [
      recordStats(deps.stats), // counts by response flag
      catchInternalErrors(deps.log), // a bug → 500, not a crash
      abortOnDownstreamClose(), // client gone → cancel (DC)
      resolveTarget(), // Host / absolute URI (400 DPE)
      stripHopByHopHeaders(),
      assignRequestId(deps.randomUUID), // x-request-id
      addForwardedHeaders(), // x-forwarded-*
      routeRequest({ routes: deps.routes, proxy: deps.proxy, random: deps.random }), // 404 NR, direct
      selectEndpoint(deps.lb, deps.random), // 503 UH
      applyRouteTimeout(), // 504 UT
    ],
    forwardUpstream(deps.pool), // 503 UF / UC, streaming
  );
}
