import type { Logger } from "../../broker/logger.ts";
import type { Protocol } from "../../control/compile/protocol.ts";
import { abortOnDownstreamClose } from "./downstream-close.ts";
import { targetLocalApp } from "./endpoint-selection.ts";
import { addForwardedHeaders } from "./forwarded-headers.ts";
import { stripHopByHopHeaders } from "./hop-by-hop.ts";
import { authorizeInbound, type InboundAuthzDeps } from "./inbound-authz.ts";
import { catchInternalErrors } from "./internal-error.ts";
import { type ListenerStats, recordStats } from "./listener-stats.ts";
import type { PeerSecurityLog } from "./peer-security.ts";
import { compose, type Handler } from "./proxy-context.ts";
import { assignRequestId } from "./request-id.ts";
import { resolveTarget } from "./request-target.ts";
import type { SidecarTelemetry } from "./sidecar-telemetry.ts";
import { recordTelemetry } from "./telemetry-layer.ts";
import { forwardUpstream } from "./upstream-forward.ts";
import type { Http2SessionPool } from "./upstream-h2.ts";
import type { UpstreamPool } from "./upstream-pool.ts";
import { chooseUpstreamProtocol } from "./upstream-protocol.ts";

/** What the inbound pipeline needs. */
export interface InboundDeps {
  /** HTTP/2 to the app when its port is declared `http2`/`grpc` (or for gRPC requests); absent: HTTP/1.1. */
  http2?: { pool: Http2SessionPool; appProtocol: () => Protocol | undefined };
  /** Port of the local app on 127.0.0.1. */
  appPort: number;
  pool: UpstreamPool;
  stats: ListenerStats;
  telemetry: SidecarTelemetry;
  randomUUID: () => string;
  log: Logger;
  /** RequestAuthentication + AuthorizationPolicy; absent = no inbound policy enforcement. */
  authz?: InboundAuthzDeps;
  /** Records how each caller connected (`jibe mtls check`). */
  peerSecurity?: PeerSecurityLog;
}

/**
 * The inbound pipeline (mesh → local app), laid out like the outbound one; instead of routing, every
 * request goes to the app on 127.0.0.1:`appPort` over a pooled keep-alive connection.
 *
 * @example
 * ```ts
 * const handler = createInboundPipeline({ appPort: 9080, pool, stats, telemetry, randomUUID, log });
 * await startListener({ direction: "inbound", host, port, handler, log });
 * ```
 */
export function createInboundPipeline(deps: InboundDeps): Handler {
  return compose(
    [
      recordStats(deps.stats), // counts by response flag
      recordTelemetry(deps.telemetry), // Istio metrics, peer metadata, trace context, access log
      ...(deps.peerSecurity ? [deps.peerSecurity.inbound()] : []), // mTLS or plaintext, caller's SPIFFE ID
      catchInternalErrors(deps.log), // a bug → 500, not a crash
      abortOnDownstreamClose(), // client gone → cancel (DC)
      resolveTarget(), // Host / absolute URI (400 DPE)
      stripHopByHopHeaders(),
      assignRequestId(deps.randomUUID), // x-request-id
      ...(deps.authz ? [authorizeInbound(deps.authz)] : []), // 401 bad JWT, 403 RBAC
      addForwardedHeaders(), // x-forwarded-*
      targetLocalApp({ address: "127.0.0.1", port: deps.appPort }),
      ...(deps.http2 ? [chooseUpstreamProtocol(deps.http2.pool, deps.http2.appProtocol)] : []), // h2c: http2/grpc app
    ],
    forwardUpstream(deps.pool), // 503 UF / UC, streaming
  );
}
