import { type LoadBalancerState, pickEndpoint } from "../engine/index.ts";
import { respondLocally } from "./local-response.ts";
import type { Layer, UpstreamAddress } from "./proxy-context.ts";

/**
 * Picks an endpoint of the routed cluster with the engine's load balancer (released when the
 * response is done); 503 `UH` if the cluster has none.
 *
 * @example
 * ```ts
 * compose([routeRequest(deps), selectEndpoint(createLoadBalancerState(), Math.random)], forward);
 * ```
 */
export function selectEndpoint(lb: LoadBalancerState, random: () => number): Layer {
  return (next) => async (ctx) => {
    const cluster = ctx.cluster;
    if (!cluster) throw new Error("selectEndpoint needs a routed cluster; put routeRequest() before it");
    const endpoint = pickEndpoint(cluster, lb, random);
    if (!endpoint) {
      respondLocally(ctx, 503, "UH", `no healthy endpoint in cluster ${cluster.name}`);
      return;
    }
    // LEAST_REQUEST counts requests in flight per endpoint until the exchange is over.
    ctx.res.once("close", () => lb.release(cluster, endpoint));
    ctx.endpoint = { address: endpoint.address, port: endpoint.port };
    return next(ctx);
  };
}

/** Sends every request to one fixed address: the inbound side's local app. */
export function targetLocalApp(app: UpstreamAddress): Layer {
  return (next) => async (ctx) => {
    ctx.endpoint = app;
    return next(ctx);
  };
}
