import type { Cluster, Endpoint } from "../../control/compile/snapshot.ts";
import {
  type AttemptOutcome,
  hashKeyOf,
  type LoadBalancerState,
  outlierStatusOf,
  pickEndpointForRetry,
  planRetry,
  type RetryVerdict,
  retryPolicyOf,
} from "../engine/index.ts";
import { joinedHeaders } from "./joined-headers.ts";
import { respondLocally } from "./local-response.ts";
import { addFlag, type Handler, type ProxyContext, type UpstreamAddress } from "./proxy-context.ts";
import { bufferRequestBody } from "./request-body.ts";
import {
  type AttemptResult,
  DEFAULT_CONNECT_TIMEOUT_MS,
  deliverAttempt,
  sendAttempt,
  watchAbort,
} from "./upstream-forward.ts";
import type { UpstreamPool } from "./upstream-pool.ts";

/** What the retrying forwarder needs. */
export interface RetryForwardDeps {
  pool: UpstreamPool;
  lb: LoadBalancerState;
  random: () => number;
  /** Waits between attempts; default setTimeout. */
  sleep?: (ms: number) => Promise<void>;
  connectTimeoutMs?: number;
  /** Where (and how: plaintext or mTLS) an endpoint is reached; default its address and port, plaintext. */
  upstreamAddress?: (cluster: Cluster, endpoint: Endpoint) => UpstreamAddress;
}

/**
 * The end of the outbound pipeline: picks an endpoint of the routed cluster (503 `UH` if none) and
 * sends the request, retrying as the route's retry policy says (Istio's default when it names
 * none: 2 retries on connect failures and 503) with jittered backoff, each retry preferring an
 * endpoint not tried yet and bounded by `perTryTimeout`. The route timeout (applyRouteTimeout)
 * bounds all attempts together. When retries run out on a retriable failure the last answer is
 * returned, flagged `URX` (with `UF`/`UC`/`UT` when the proxy had to answer). A body larger than
 * 1 MiB is streamed once, without retries.
 *
 * @example
 * ```ts
 * compose(layers, forwardWithRetries({ pool, lb: createLoadBalancerState(), random: Math.random }));
 * ```
 */
export function forwardWithRetries(deps: RetryForwardDeps): Handler {
  const sleep = deps.sleep ?? ((ms: number) => new Promise<void>((r) => setTimeout(r, ms)));
  const connectTimeoutMs = deps.connectTimeoutMs ?? DEFAULT_CONNECT_TIMEOUT_MS;
  return async (ctx) => {
    const cluster = ctx.cluster;
    if (!cluster) throw new Error("forwardWithRetries needs a routed cluster; put routeRequest() before it");
    if (ctx.abort.signal.aborted) return;
    watchAbort(ctx);
    const policy = ctx.route ? retryPolicyOf(ctx.route.action) : undefined;
    const retriable = policy !== undefined && policy.attempts > 0 && (await bufferRequestBody(ctx));
    const tried: Endpoint[] = [];
    const hashKey = hashKeyFor(ctx);
    for (let retries = 0; ; retries++) {
      if (ctx.abort.signal.aborted) return;
      const endpoint = pickEndpointForRetry(cluster, deps.lb, deps.random, tried, hashKey);
      if (!endpoint) {
        respondLocally(ctx, 503, "UH", `no healthy endpoint in cluster ${cluster.name}`);
        return;
      }
      tried.push(endpoint);
      ctx.endpoint = deps.upstreamAddress?.(cluster, endpoint) ?? {
        address: endpoint.address,
        port: endpoint.port,
      };
      const result = await sendAttempt(ctx, deps.pool, ctx.endpoint, {
        connectTimeoutMs: cluster.connectionPool?.connectTimeoutMs ?? connectTimeoutMs,
        ...(policy?.perTryTimeoutMs !== undefined ? { perTryTimeoutMs: policy.perTryTimeoutMs } : {}),
      });
      const outcome = toOutcome(result);
      if (outcome) deps.lb.report(cluster, endpoint, outlierStatusOf(outcome));
      const verdict: RetryVerdict =
        retriable && policy && outcome ? planRetry(policy, outcome, retries, deps.random) : { kind: "done" };
      if (verdict.kind === "retry") {
        discard(result);
        deps.lb.release(cluster, endpoint);
        await sleep(verdict.backoffMs);
        continue;
      }
      if (verdict.kind === "exhausted") addFlag(ctx, "URX");
      // LEAST_REQUEST counts requests in flight per endpoint until the exchange is over.
      ctx.res.once("close", () => deps.lb.release(cluster, endpoint));
      deliverAttempt(ctx, result);
      return;
    }
  };
}

function toOutcome(result: AttemptResult): AttemptOutcome | undefined {
  switch (result.kind) {
    case "response":
      return {
        kind: "response",
        status: result.response.statusCode ?? 502,
        headers: joinedHeaders(result.response.headers),
      };
    case "connect-failure":
    case "reset":
    case "per-try-timeout":
      return { kind: result.kind };
    case "aborted":
      return undefined;
    default: {
      const unknown: never = result;
      throw new Error(`unhandled attempt result ${JSON.stringify(unknown)}`);
    }
  }
}

/** Drops an attempt's answer that will be retried (read to the end so the connection is reused). */
function discard(result: AttemptResult): void {
  if (result.kind === "response") result.response.resume();
}

/**
 * The consistent-hash key of the request for its cluster (header, cookie, caller IP or query
 * parameter); a generated cookie is appended to the upstream response's `set-cookie`.
 */
function hashKeyFor(ctx: ProxyContext): string | undefined {
  const policy = ctx.cluster?.consistentHash;
  if (!policy) return undefined;
  const headers: Record<string, string | undefined> = {};
  for (const [name, value] of Object.entries(ctx.upstreamHeaders))
    if (value !== undefined)
      headers[name.toLowerCase()] = Array.isArray(value) ? value.join("; ") : String(value);
  const socket = ctx.req.socket;
  const sourceIp = socket.remoteAddress;
  const { key, setCookie } = hashKeyOf(policy, {
    headers,
    path: ctx.path,
    ...(sourceIp ? { sourceIp } : {}),
    connectionId: `${sourceIp}:${socket.remotePort}|${socket.localAddress}:${socket.localPort}`,
  });
  if (setCookie) {
    ctx.upstreamResponseHooks.push((response) => {
      const existing = response.headers["set-cookie"] ?? [];
      response.headers["set-cookie"] = [...existing, setCookie];
    });
  }
  return key;
}
