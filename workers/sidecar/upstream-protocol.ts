import type { Protocol } from "../../control/compile/protocol.ts";
import { usesHttp2Upstream } from "../../control/compile/protocol.ts";
import { isGrpcRequest } from "./local-response.ts";
import type { Layer, ProxyContext } from "./proxy-context.ts";
import type { Http2SessionPool } from "./upstream-h2.ts";

/**
 * Chooses HTTP/2 (prior knowledge: h2c, or h2 inside mTLS) for the upstream request when the
 * destination port is declared `http2`/`grpc` (`protocol.ts`) or the request is gRPC, which
 * HTTP/1.1 cannot carry; HTTP/1.1 otherwise, whatever the client spoke (Istio's rule for `http`
 * ports). The destination is the routed cluster outbound, the app port inbound.
 *
 * @example
 * ```ts
 * compose([routeRequest(deps), chooseUpstreamProtocol(h2, (ctx) => ctx.cluster?.protocol)], forward);
 * ```
 */
export function chooseUpstreamProtocol(
  http2: Http2SessionPool,
  destinationProtocol: (ctx: Parameters<ReturnType<Layer>>[0]) => Protocol | undefined,
): Layer {
  return (next) => async (ctx) => {
    if (wantsHttp2Upstream(ctx, destinationProtocol(ctx))) ctx.http2Upstream = http2;
    return next(ctx);
  };
}

/**
 * Whether `ctx`'s request goes to a destination of `protocol` over HTTP/2: the port is declared
 * `http2`/`grpc`, or the request is gRPC; never for an HTTP/1.1 `Upgrade` (WebSocket).
 *
 * @example
 * ```ts
 * wantsHttp2Upstream(ctx, mirrorCluster.protocol); // true for a `grpc-…` port
 * ```
 */
export function wantsHttp2Upstream(
  ctx: Pick<ProxyContext, "req" | "upgrade">,
  protocol: Protocol | undefined,
): boolean {
  return !ctx.upgrade && (usesHttp2Upstream(protocol) || isGrpcRequest(ctx));
}
