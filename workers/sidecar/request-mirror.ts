import { request } from "node:http";
import type { Logger } from "../../broker/logger.ts";
import { type LoadBalancerState, pickEndpoint, pickMirrors, shadowAuthority } from "../engine/index.ts";
import type { Layer, ProxyContext } from "./proxy-context.ts";
import { bufferRequestBody, hasBody } from "./request-body.ts";
import type { UpstreamPool } from "./upstream-pool.ts";

/** What the mirror layer needs. */
export interface MirrorDeps {
  pool: UpstreamPool;
  lb: LoadBalancerState;
  random: () => number;
  log: Logger;
  /** A mirrored copy still unanswered after this long is dropped. Default 30 s. */
  timeoutMs?: number;
}

/**
 * Sends a copy of the request to each of the route's mirrors that fires for it (Istio `mirror` /
 * `mirrors` with their percentages), after rewrites and header policies, with `-shadow` appended
 * to its Host. Fire-and-forget: the copy's answer, failure or slowness never touches the real
 * response. A body over 1 MiB is not mirrored (Envoy mirrors only what it buffered).
 *
 * @example
 * ```ts
 * compose([...layers, mirrorRequests({ pool, lb, random: Math.random, log })], forward);
 * ```
 */
export function mirrorRequests(deps: MirrorDeps): Layer {
  return (next) => async (ctx) => {
    const action = ctx.route?.action;
    const clusters = action?.kind === "route" ? pickMirrors(action.mirrors, deps.random) : [];
    if (clusters.length > 0 && (!hasBody(ctx) || (await bufferRequestBody(ctx)))) {
      for (const name of clusters) sendCopy(ctx, name, deps);
    }
    return next(ctx);
  };
}

function sendCopy(ctx: ProxyContext, clusterName: string, deps: MirrorDeps): void {
  const cluster = ctx.clusters?.[clusterName];
  const endpoint = cluster ? pickEndpoint(cluster, deps.lb, deps.random) : undefined;
  if (!cluster || !endpoint) {
    deps.log.debug(`mirror ${clusterName}: no endpoint, copy dropped`);
    return;
  }
  const host = ctx.upstreamHeaders.host;
  const headers = {
    ...ctx.upstreamHeaders,
    host: shadowAuthority(typeof host === "string" ? host : ctx.authority),
  };
  if (ctx.body) headers["content-length"] = String(ctx.body.length);
  delete headers["transfer-encoding"];
  const lease = deps.pool.lease(endpoint);
  const copy = request({
    agent: lease.agent,
    host: endpoint.address,
    port: endpoint.port,
    method: ctx.req.method,
    path: ctx.path,
    headers,
    timeout: deps.timeoutMs ?? 30_000,
  });
  copy.once("close", () => {
    lease.release();
    deps.lb.release(cluster, endpoint);
  });
  copy.once("timeout", () => copy.destroy());
  copy.once("response", (response) => response.resume());
  copy.on("error", (error) => deps.log.debug(`mirror ${clusterName}: ${error.message}`));
  copy.end(ctx.body);
}
