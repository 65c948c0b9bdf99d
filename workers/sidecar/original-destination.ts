import { authorityPort, stripPort } from "../engine/index.ts";
import type { Layer } from "./proxy-context.ts";

/**
 * Gives an original-destination cluster (ServiceEntry `resolution: NONE`, the ALLOW_ANY
 * `PassthroughCluster`) its one endpoint: the host and port the request was addressed to (its
 * authority; no port: the cluster's port, else 80/443 by scheme), as Envoy's ORIGINAL_DST does
 * with the connection's original address. A host name is resolved when the proxy connects.
 *
 * @example
 * ```ts
 * compose([routeRequest(deps), answerWithoutUpstream(), routeToOriginalDestination()], forward);
 * ```
 */
export function routeToOriginalDestination(): Layer {
  return (next) => async (ctx) => {
    const cluster = ctx.cluster;
    if (cluster?.originalDestination) {
      const host = stripPort(ctx.authority).replace(/^\[(.*)\]$/, "$1");
      const port = authorityPort(ctx.authority) || cluster.port || (ctx.scheme === "https" ? 443 : 80);
      ctx.cluster = { ...cluster, endpoints: [{ address: host, port, labels: {} }] };
    }
    return next(ctx);
  };
}
