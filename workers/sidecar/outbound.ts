import type { Logger } from "../../broker/logger.ts";
import type { ProxyIdentity } from "../../control/compile/snapshot.ts";
import type { LoadBalancerState } from "../engine/index.ts";
import { enforceConnectionPool } from "./cluster-circuit-breaker.ts";
import { applyCorsPolicy } from "./cors-policy.ts";
import { abortOnDownstreamClose } from "./downstream-close.ts";
import { injectFaults } from "./fault-injection.ts";
import { addForwardedHeaders } from "./forwarded-headers.ts";
import { applyRequestHeaderPolicies } from "./header-policies.ts";
import { stripHopByHopHeaders } from "./hop-by-hop.ts";
import { catchInternalErrors } from "./internal-error.ts";
import { type ListenerStats, recordStats } from "./listener-stats.ts";
import { routeToOriginalDestination } from "./original-destination.ts";
import type { PeerSecurityLog } from "./peer-security.ts";
import { compose, type Handler, type Layer } from "./proxy-context.ts";
import { assignRequestId } from "./request-id.ts";
import { mirrorRequests } from "./request-mirror.ts";
import { rewriteUpstreamTarget } from "./request-rewrite.ts";
import { resolveTarget } from "./request-target.ts";
import { answerWithoutUpstream } from "./route-answer.ts";
import { routeRequest } from "./route-decision.ts";
import type { RouteSource } from "./route-policy.ts";
import { applyRouteTimeout } from "./route-timeout.ts";
import type { SidecarTelemetry } from "./sidecar-telemetry.ts";
import { recordTelemetry } from "./telemetry-layer.ts";
import type { Http2SessionPool } from "./upstream-h2.ts";
import type { UpstreamPool } from "./upstream-pool.ts";
import { chooseUpstreamProtocol } from "./upstream-protocol.ts";
import { forwardWithRetries, type RetryForwardDeps } from "./upstream-retry.ts";

/** What the outbound pipeline needs. */
export interface OutboundDeps {
  /** HTTP/2 sessions to endpoints, for `http2`/`grpc` ports and gRPC requests; absent: HTTP/1.1 only. */
  http2?: Http2SessionPool;
  proxy: ProxyIdentity;
  routes: RouteSource;
  lb: LoadBalancerState;
  pool: UpstreamPool;
  stats: ListenerStats;
  telemetry: SidecarTelemetry;
  random: () => number;
  randomUUID: () => string;
  log: Logger;
  /** Per-cluster `connectionPool` limits (shared so `stats()` can read them); default a fresh one. */
  connectionPool?: ReturnType<typeof enforceConnectionPool>;
  /** How endpoints are reached (auto-mTLS to sidecars, `mesh-tls.ts`); default plaintext. */
  upstreamAddress?: RetryForwardDeps["upstreamAddress"];
  /** Records how each upstream connection was secured (`jibe mtls check`). */
  peerSecurity?: PeerSecurityLog;
  /** Requests arriving over TLS have scheme `https` (the ingress gateway terminates clients' TLS). */
  schemeFromConnection?: boolean;
  /** Refuses targets the listener does not serve (the ingress gateway: hosts of its port's servers). */
  admitTarget?: Layer;
  /**
   * The port routes match (`match.port`, Gateway API listener ports): the ingress gateway's server
   * port, whatever local port it is bound to; default the authority's port, else 80 / 443.
   */
  routePort?: number;
}

/**
 * The outbound pipeline (app → mesh), top to bottom as a request meets it. Its target authority
 * comes from the Host header or an absolute-form URI; the engine routes it to a cluster; an
 * endpoint of that cluster (another sidecar's inbound listener) receives it over a pooled connection.
 *
 * @example
 * ```ts
 * const handler = createOutboundPipeline({ proxy, routes, lb, pool, stats, telemetry, random, randomUUID, log });
 * await startListener({ direction: "outbound", host, port, handler, log });
 * ```
 */
export function createOutboundPipeline(deps: OutboundDeps): Handler {
  return compose(
    [
      recordStats(deps.stats), // counts by response flag
      recordTelemetry(deps.telemetry), // Istio metrics, peer metadata, trace context, access log
      ...(deps.peerSecurity ? [deps.peerSecurity.outbound()] : []), // mTLS / TLS / plaintext per endpoint
      catchInternalErrors(deps.log), // a bug → 500, not a crash
      abortOnDownstreamClose(), // client gone → cancel (DC)
      resolveTarget({ schemeFromConnection: deps.schemeFromConnection ?? false }), // Host / absolute URI (400 DPE)
      ...(deps.admitTarget ? [deps.admitTarget] : []), // gateway: a host no server of the port has (404 NR)
      stripHopByHopHeaders(),
      assignRequestId(deps.randomUUID), // x-request-id
      addForwardedHeaders(), // x-forwarded-*
      routeRequest({
        routes: deps.routes,
        proxy: deps.proxy,
        random: deps.random,
        ...(deps.routePort === undefined ? {} : { port: deps.routePort }),
      }), // 404 NR
      applyCorsPolicy(), // preflights answered, access-control-* added
      injectFaults(deps.random), // DI delay, FI abort
      answerWithoutUpstream(), // redirects, direct responses, 503 NC
      routeToOriginalDestination(), // passthrough / resolution NONE: the addressed host:port
      rewriteUpstreamTarget(), // path / Host rewrite
      applyRequestHeaderPolicies(), // headers set / add / remove
      applyRouteTimeout(), // 504 UT over all attempts
      ...(deps.http2 ? [chooseUpstreamProtocol(deps.http2, (ctx) => ctx.cluster?.protocol)] : []), // h2c: http2/grpc
      mirrorRequests({
        pool: deps.pool,
        lb: deps.lb,
        random: deps.random,
        log: deps.log,
        ...(deps.http2 ? { http2: deps.http2 } : {}),
        ...(deps.upstreamAddress ? { upstreamAddress: deps.upstreamAddress } : {}),
      }), // -shadow copies, h2 to http2/grpc mirrors
      (deps.connectionPool ?? enforceConnectionPool()).layer, // connectionPool limits: 503 UO
    ],
    forwardWithRetries({
      pool: deps.pool,
      lb: deps.lb,
      random: deps.random,
      ...(deps.upstreamAddress ? { upstreamAddress: deps.upstreamAddress } : {}),
    }), // 503 UH / UF / UC, URX; mTLS to sidecars
  );
}
