import type { ConnectionPoolPolicy } from "../../control/compile/snapshot.ts";

/** Requests of one cluster right now: sent upstream (`active`) and waiting for a connection. */
export interface ClusterLoad {
  active: number;
  pending: number;
}

/** What to do with one more request: send it, queue it for a connection, or answer 503 `UO`. */
export type Admission = "dispatch" | "queue" | "overflow";

/**
 * Envoy's per-cluster circuit breakers, as Istio configures them from `connectionPool`, for
 * HTTP/1.1 upstreams (one request per connection at a time): at `http2MaxRequests` requests
 * in flight a new one overflows at once; with all `maxConnections` busy it waits for one, up to
 * `http1MaxPendingRequests` waiting, then overflows. Absent limits are unlimited.
 *
 * @example
 * ```ts
 * admitRequest({ maxConnections: 1, http1MaxPendingRequests: 1 }, { active: 1, pending: 1 }); // "overflow"
 * ```
 */
export function admitRequest(policy: ConnectionPoolPolicy | undefined, load: ClusterLoad): Admission {
  if (!policy) return "dispatch";
  if (policy.http2MaxRequests !== undefined && load.active >= policy.http2MaxRequests) return "overflow";
  if (policy.maxConnections === undefined || load.active < policy.maxConnections) return "dispatch";
  const maxPending = policy.http1MaxPendingRequests ?? Number.POSITIVE_INFINITY;
  return load.pending < maxPending ? "queue" : "overflow";
}

/**
 * Whether a waiting request may be sent now that a request finished (a connection is free and the
 * request limit allows it).
 */
export function canDispatchPending(policy: ConnectionPoolPolicy | undefined, load: ClusterLoad): boolean {
  if (!policy) return true;
  if (policy.http2MaxRequests !== undefined && load.active >= policy.http2MaxRequests) return false;
  return policy.maxConnections === undefined || load.active < policy.maxConnections;
}
