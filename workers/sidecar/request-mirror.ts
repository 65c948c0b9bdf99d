import { request } from "node:http";
import { type ClientHttp2Stream, constants as http2Constants } from "node:http2";
import type { Logger } from "../../broker/logger.ts";
import type { Cluster, Endpoint } from "../../control/compile/snapshot.ts";
import { type LoadBalancerState, pickEndpoint, pickMirrors, shadowAuthority } from "../engine/index.ts";
import type { Layer, ProxyContext, UpstreamAddress } from "./proxy-context.ts";
import { bufferRequestBody, hasBody } from "./request-body.ts";
import { type Http2SessionPool, http2RequestHeaders } from "./upstream-h2.ts";
import type { UpstreamPool } from "./upstream-pool.ts";
import { wantsHttp2Upstream } from "./upstream-protocol.ts";

/** What the mirror layer needs. */
export interface MirrorDeps {
  pool: UpstreamPool;
  /** HTTP/2 sessions, for mirrors whose cluster is an `http2`/`grpc` port (or gRPC requests); absent: HTTP/1.1 only. */
  http2?: Http2SessionPool;
  lb: LoadBalancerState;
  random: () => number;
  log: Logger;
  /** Where (and how: plaintext or mTLS) an endpoint is reached, as for the real request; default plaintext. */
  upstreamAddress?: (cluster: Cluster, endpoint: Endpoint) => UpstreamAddress;
  /** A mirrored copy still unanswered after this long is dropped. Default 30 s. */
  timeoutMs?: number;
}

/** One copy to send: where, and the request's state after the layers before this one. */
interface Copy {
  ctx: ProxyContext;
  cluster: Cluster;
  endpoint: Endpoint;
  address: UpstreamAddress;
  authority: string;
  /** Ends the copy's hold on the endpoint (load balancer in-flight count). */
  done: () => void;
}

/**
 * Sends a copy of the request to each of the route's mirrors that fires for it (Istio `mirror` /
 * `mirrors` with their percentages), after rewrites and header policies, with `-shadow` appended
 * to its Host, over the protocol the mirror's cluster is reached with (HTTP/2 for `http2`/`grpc`
 * ports and gRPC requests, as the real request; mTLS to sidecars under auto-mTLS).
 * Fire-and-forget: the copy's answer, failure or slowness never touches the real response. A body
 * over 1 MiB (or a gRPC stream still open after 50 ms) is not mirrored: Envoy mirrors only what it
 * buffered.
 *
 * @example
 * ```ts
 * compose([...layers, mirrorRequests({ pool, http2, lb, random: Math.random, log })], forward);
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
  const copy: Copy = {
    ctx,
    cluster,
    endpoint,
    address: deps.upstreamAddress?.(cluster, endpoint) ?? { address: endpoint.address, port: endpoint.port },
    authority: shadowAuthority(typeof host === "string" ? host : ctx.authority),
    done: () => deps.lb.release(cluster, endpoint),
  };
  if (deps.http2 && wantsHttp2Upstream(ctx, cluster.protocol)) sendHttp2Copy(copy, deps.http2, deps);
  else sendHttp1Copy(copy, deps);
}

function sendHttp1Copy(copy: Copy, deps: MirrorDeps): void {
  const { ctx } = copy;
  const headers = { ...ctx.upstreamHeaders, host: copy.authority };
  if (ctx.body) headers["content-length"] = String(ctx.body.length);
  delete headers["transfer-encoding"];
  const lease = deps.pool.lease(copy.address);
  const upstream = request({
    agent: lease.agent,
    host: copy.address.address,
    port: copy.address.port,
    method: ctx.req.method,
    path: ctx.path,
    headers,
    timeout: deps.timeoutMs ?? 30_000,
  });
  upstream.once("close", () => {
    lease.release();
    copy.done();
  });
  upstream.once("timeout", () => upstream.destroy());
  upstream.once("response", (response) => response.resume());
  upstream.on("error", (error) => deps.log.debug(`mirror ${copy.cluster.name}: ${error.message}`));
  upstream.end(ctx.body);
}

/** The copy as one stream of the endpoint's multiplexed session (h2c, or h2 inside mTLS). */
function sendHttp2Copy(copy: Copy, http2: Http2SessionPool, deps: MirrorDeps): void {
  const { ctx } = copy;
  const headers = http2RequestHeaders(ctx, copy.authority);
  const body = ctx.body && ctx.body.length > 0 ? ctx.body : undefined;
  if (body) headers["content-length"] = String(body.length);
  let stream: ClientHttp2Stream;
  try {
    stream = http2.session(copy.address).request(headers, { endStream: !body });
  } catch (error) {
    deps.log.debug(`mirror ${copy.cluster.name}: ${String(error)}`);
    copy.done();
    return;
  }
  stream.once("close", copy.done);
  stream.setTimeout(deps.timeoutMs ?? 30_000, () => stream.close(http2Constants.NGHTTP2_CANCEL));
  stream.on("error", (error) => deps.log.debug(`mirror ${copy.cluster.name}: ${error.message}`));
  // The answer (body and trailers) is read and dropped so the stream's flow-control window keeps moving.
  stream.resume();
  if (body) stream.end(body);
}
