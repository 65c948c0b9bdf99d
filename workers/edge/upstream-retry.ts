import type { Cluster, Endpoint, Route } from "../../control/compile/snapshot.ts";
import {
  type AttemptOutcome,
  type HashKey,
  hashKeyOf,
  type LoadBalancerState,
  outlierStatusOf,
  pickEndpointForRetry,
  planRetry,
  type ResponseFlag,
  type RetryVerdict,
  retryPolicyOf,
} from "../engine/index.ts";
import { flaggedResponse } from "./flagged-response.ts";
import { attemptUpstream, relayUpstream, type UpstreamAttempt, type UpstreamDeps } from "./upstream.ts";

/** One routed request, ready to send. */
export interface EdgeForward {
  route: Route;
  cluster: Cluster;
  lb: LoadBalancerState;
  method: string;
  path: string;
  headers: Headers;
  body: BodyInit | null;
  /** False when the body streams (too large to keep): one attempt only. */
  replayable: boolean;
  /** The route timeout: all attempts together (Istio `timeout`). */
  timeoutMs?: number;
}

/** Runtime pieces of the retry loop. */
export interface RetryDeps extends UpstreamDeps {
  random: () => number;
  sleep?: (ms: number) => Promise<void>;
}

/**
 * Sends a routed request with the route's retry policy (Istio's default when it names none), the
 * same engine decisions as the sidecar: each attempt on an endpoint not tried yet when possible,
 * bounded by `perTryTimeout` and by what is left of the route timeout, jittered backoff between
 * attempts. Returns the response with the flags the proxy adds: `UH` (no endpoint), `UF` / `UT`
 * when it answers itself, `URX` when retries ran out.
 *
 * @example
 * ```ts
 * const { response, flags } = await forwardWithRetries(forward, { fetch, newRequestId, random: Math.random });
 * ```
 */
export async function forwardWithRetries(
  f: EdgeForward,
  deps: RetryDeps,
): Promise<{ response: Response; flags: ResponseFlag[] }> {
  const sleep = deps.sleep ?? ((ms: number) => new Promise<void>((r) => setTimeout(r, ms)));
  const policy = retryPolicyOf(f.route.action);
  const deadline = f.timeoutMs && f.timeoutMs > 0 ? Date.now() + f.timeoutMs : undefined;
  const tried: Endpoint[] = [];
  const hash = hashKeyFor(f);
  for (let retries = 0; ; retries++) {
    const endpoint = pickEndpointForRetry(f.cluster, f.lb, deps.random, tried, hash.key);
    if (!endpoint) {
      return { response: flaggedResponse(503, "UH", `no endpoint in cluster ${f.cluster.name}`), flags: [] };
    }
    tried.push(endpoint);
    const left = deadline === undefined ? undefined : Math.max(1, deadline - Date.now());
    const perTry = policy.perTryTimeoutMs;
    const timeoutMs = perTry === undefined ? left : left === undefined ? perTry : Math.min(perTry, left);
    let attempt: UpstreamAttempt;
    try {
      attempt = await attemptUpstream(
        {
          endpoint,
          method: f.method,
          path: f.path,
          headers: f.headers,
          body: f.body,
          ...(timeoutMs ? { timeoutMs } : {}),
        },
        deps,
      );
    } finally {
      // Released once response headers are in (or the attempt failed): LEAST_REQUEST counts
      // requests awaiting an answer in this isolate, not streaming bodies.
      f.lb.release(f.cluster, endpoint);
    }
    const routeTimedOut = attempt.kind === "timeout" && deadline !== undefined && Date.now() >= deadline - 1;
    if (routeTimedOut) {
      return {
        response: flaggedResponse(504, "UT", `upstream request timeout after ${f.timeoutMs} ms`),
        flags: [],
      };
    }
    const outcome = toOutcome(attempt);
    f.lb.report(f.cluster, endpoint, outlierStatusOf(outcome));
    const verdict: RetryVerdict = f.replayable
      ? planRetry(policy, outcome, retries, deps.random)
      : { kind: "done" };
    if (verdict.kind === "retry" && (deadline === undefined || Date.now() + verdict.backoffMs < deadline)) {
      if (attempt.kind === "response") await attempt.response.body?.cancel();
      await sleep(verdict.backoffMs);
      continue;
    }
    const flags: ResponseFlag[] = verdict.kind === "exhausted" ? ["URX"] : [];
    switch (attempt.kind) {
      case "response": {
        const response = relayUpstream(attempt.response);
        if (hash.setCookie) response.headers.append("set-cookie", hash.setCookie);
        return { response, flags };
      }
      case "connect-failure":
        return { response: flaggedResponse(503, ["UF", ...flags], attempt.message), flags: [] };
      case "timeout":
        return { response: flaggedResponse(504, ["UT", ...flags], attempt.message), flags: [] };
      default: {
        const unknown: never = attempt;
        throw new Error(`unhandled attempt ${JSON.stringify(unknown)}`);
      }
    }
  }
}

function toOutcome(attempt: UpstreamAttempt): AttemptOutcome {
  switch (attempt.kind) {
    case "response": {
      const headers: Record<string, string> = {};
      for (const [name, value] of attempt.response.headers) headers[name] = value;
      return { kind: "response", status: attempt.response.status, headers };
    }
    case "connect-failure":
      return { kind: "connect-failure" };
    case "timeout":
      return { kind: "per-try-timeout" };
    default: {
      const unknown: never = attempt;
      throw new Error(`unhandled attempt ${JSON.stringify(unknown)}`);
    }
  }
}

/**
 * The consistent-hash key of a request for its cluster; the caller's IP is `cf-connecting-ip`
 * (set by Cloudflare), which also seeds a generated cookie.
 */
function hashKeyFor(f: EdgeForward): HashKey {
  const policy = f.cluster.consistentHash;
  if (!policy) return {};
  const headers: Record<string, string> = {};
  for (const [name, value] of f.headers) headers[name] = value;
  const sourceIp = f.headers.get("cf-connecting-ip") ?? undefined;
  return hashKeyOf(policy, {
    headers,
    path: f.path,
    ...(sourceIp ? { sourceIp, connectionId: sourceIp } : {}),
  });
}
