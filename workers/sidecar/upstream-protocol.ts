import type { Protocol } from "../../control/compile/protocol.ts";
import { usesHttp2Upstream } from "../../control/compile/protocol.ts";
import { isGrpcRequest } from "./local-response.ts";
import type { Layer } from "./proxy-context.ts";
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
    if (!ctx.upgrade && (usesHttp2Upstream(destinationProtocol(ctx)) || isGrpcRequest(ctx)))
      ctx.http2Upstream = http2;
    return next(ctx);
  };
}
