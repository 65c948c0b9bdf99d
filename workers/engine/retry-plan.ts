import { DEFAULT_RETRY_POLICY } from "../../control/compile/route-policies.ts";
import type {
  Cluster,
  Endpoint,
  RetryCondition,
  RetryPolicy,
  RouteAction,
} from "../../control/compile/snapshot.ts";
import { type LoadBalancerState, pickEndpoint } from "./load-balancer.ts";

export { DEFAULT_RETRY_POLICY };

/** How one attempt to reach the upstream ended. */
export type AttemptOutcome =
  | { kind: "response"; status: number; headers: Readonly<Record<string, string | undefined>> }
  /** The connection could not be opened (refused, connect timeout). */
  | { kind: "connect-failure" }
  /** The connection was reset or closed before response headers arrived. */
  | { kind: "reset" }
  | { kind: "per-try-timeout" };

/** What to do after an attempt. */
export type RetryVerdict =
  | { kind: "done" }
  | { kind: "retry"; backoffMs: number }
  /** The outcome was retriable but no retries are left: Envoy flags it `URX`. */
  | { kind: "exhausted" };

/** gRPC status codes retried by the gRPC `retryOn` conditions. */
const GRPC_CONDITIONS: Partial<Record<RetryCondition, number>> = {
  cancelled: 1,
  "deadline-exceeded": 4,
  "resource-exhausted": 8,
  internal: 13,
  unavailable: 14,
};

/** The retry policy in force for a route action: its own, or Istio's default (2 retries). */
export function retryPolicyOf(action: RouteAction): RetryPolicy {
  return (action.kind === "route" ? action.retries : undefined) ?? DEFAULT_RETRY_POLICY;
}

/**
 * Whether the policy retries this outcome, with Envoy's `retry_on` semantics: `5xx` covers any
 * 5xx answer, connect failures, resets and per-try timeouts; `gateway-error` the same with only
 * 502/503/504 answers; `reset` resets, connect failures and per-try timeouts;
 * `connect-failure` and `reset-before-request` only connect failures; `retriable-4xx` 409;
 * `retriable-status-codes` the listed statuses; the gRPC conditions the response's `grpc-status`;
 * `envoy-ratelimited` an `x-envoy-ratelimited` answer. `refused-stream` (an HTTP/2 reset) never
 * happens over HTTP/1.1.
 */
export function isRetriable(policy: RetryPolicy, outcome: AttemptOutcome): boolean {
  const on = new Set(policy.retryOn);
  switch (outcome.kind) {
    case "connect-failure":
      return ["5xx", "gateway-error", "reset", "connect-failure", "reset-before-request"].some((c) =>
        on.has(c as RetryCondition),
      );
    case "reset":
    case "per-try-timeout":
      return on.has("5xx") || on.has("gateway-error") || on.has("reset");
    case "response": {
      const s = outcome.status;
      if (on.has("5xx") && s >= 500 && s <= 599) return true;
      if (on.has("gateway-error") && (s === 502 || s === 503 || s === 504)) return true;
      if (on.has("retriable-4xx") && s === 409) return true;
      if (on.has("retriable-status-codes") && policy.retriableStatusCodes.includes(s)) return true;
      if (on.has("envoy-ratelimited") && outcome.headers["x-envoy-ratelimited"] !== undefined) return true;
      const grpc = outcome.headers["grpc-status"];
      if (grpc !== undefined) {
        for (const [condition, code] of Object.entries(GRPC_CONDITIONS))
          if (on.has(condition as RetryCondition) && Number(grpc) === code) return true;
      }
      return false;
    }
    default: {
      const _exhaustive: never = outcome;
      return Boolean(_exhaustive);
    }
  }
}

/**
 * Decides what follows an attempt, given how many retries were already made.
 *
 * @example
 * ```ts
 * planRetry(DEFAULT_RETRY_POLICY, { kind: "connect-failure" }, 0, Math.random); // { kind: "retry", backoffMs: 0..24 }
 * planRetry(DEFAULT_RETRY_POLICY, { kind: "connect-failure" }, 2, Math.random); // { kind: "exhausted" }
 * planRetry(DEFAULT_RETRY_POLICY, { kind: "response", status: 200, headers: {} }, 0, Math.random); // { kind: "done" }
 * ```
 */
export function planRetry(
  policy: RetryPolicy,
  outcome: AttemptOutcome,
  retriesDone: number,
  random: () => number,
): RetryVerdict {
  if (!isRetriable(policy, outcome)) return { kind: "done" };
  if (retriesDone >= policy.attempts) return policy.attempts > 0 ? { kind: "exhausted" } : { kind: "done" };
  return { kind: "retry", backoffMs: retryBackoffMs(policy, retriesDone, random) };
}

/**
 * Envoy's jittered exponential backoff: before retry n (0-based) wait a random time in
 * [0, base·2ⁿ), the upper bound capped at 10·base (25 ms base: <25, <50, <100, <200, <250 ms).
 */
export function retryBackoffMs(policy: RetryPolicy, retryIndex: number, random: () => number): number {
  const cap = policy.backoffBaseMs * 10;
  const bound = Math.min(policy.backoffBaseMs * 2 ** Math.min(retryIndex, 30), cap);
  return Math.floor(random() * bound);
}

/** Envoy's `host_selection_retry_max_attempts` as Istio sets it. */
const HOST_SELECTION_ATTEMPTS = 5;

/**
 * Picks the endpoint for an attempt with Envoy's previous-hosts retry predicate: re-picks (up to
 * 5 picks) while the pick was already tried, then takes what it got. Picks not taken are released.
 * A consistent-hash cluster with a `hashKey` takes the next untried endpoint on the ring.
 *
 * @example
 * ```ts
 * const endpoint = pickEndpointForRetry(cluster, lb, Math.random, triedSoFar);
 * ```
 */
export function pickEndpointForRetry(
  cluster: Cluster,
  lb: LoadBalancerState,
  random: () => number,
  tried: readonly Endpoint[],
  hashKey?: string,
): Endpoint | undefined {
  // The ring walks on to the next endpoint not tried yet (Envoy: as if tried hosts left the ring).
  if (cluster.consistentHash && hashKey !== undefined)
    return pickEndpoint(cluster, lb, random, { hashKey, avoid: tried });
  let picked = pickEndpoint(cluster, lb, random);
  for (let i = 1; i < HOST_SELECTION_ATTEMPTS; i++) {
    const current = picked;
    if (!current || !tried.some((t) => t.address === current.address && t.port === current.port)) break;
    lb.release(cluster, current);
    picked = pickEndpoint(cluster, lb, random);
  }
  return picked;
}
