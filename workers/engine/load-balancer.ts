import type { Cluster, Endpoint } from "../../control/compile/snapshot.ts";

/**
 * Per-proxy load-balancing state, kept across requests and snapshots (endpoints are keyed by
 * address, so a new snapshot keeps in-flight counts). Pass the same object to every pick.
 */
export interface LoadBalancerState {
  /** Round-robin position per cluster name. */
  readonly cursors: Map<string, number>;
  /** In-flight requests per endpoint (`address:port`), counted for LEAST_REQUEST clusters. */
  readonly active: Map<string, number>;
  /**
   * Marks a request to an endpoint picked by {@link pickEndpoint} as finished. Call it once per
   * pick when the upstream exchange ends (any policy; it only counts for LEAST_REQUEST).
   */
  release(cluster: Cluster, endpoint: Endpoint): void;
}

/**
 * Creates empty load-balancer state.
 *
 * @example
 * ```ts
 * const lb = createLoadBalancerState();
 * const endpoint = pickEndpoint(cluster, lb, Math.random);
 * // ... forward ...
 * if (endpoint) lb.release(cluster, endpoint);
 * ```
 */
export function createLoadBalancerState(): LoadBalancerState {
  const cursors = new Map<string, number>();
  const active = new Map<string, number>();
  return {
    cursors,
    active,
    release(cluster, endpoint) {
      if (cluster.loadBalancer !== "LEAST_REQUEST") return;
      const key = endpointKey(endpoint);
      const count = active.get(key) ?? 0;
      if (count <= 1) active.delete(key);
      else active.set(key, count - 1);
    },
  };
}

/**
 * Picks an endpoint of a cluster with its policy: ROUND_ROBIN (in order, per cluster), RANDOM, or
 * LEAST_REQUEST (Envoy's power of two choices: two random endpoints, the one with fewer requests
 * in flight). Undefined when the cluster has no endpoints (the caller answers 503 UH).
 */
export function pickEndpoint(
  cluster: Cluster,
  state: LoadBalancerState,
  random: () => number,
): Endpoint | undefined {
  const endpoints = cluster.endpoints;
  const n = endpoints.length;
  if (n === 0) return undefined;
  switch (cluster.loadBalancer) {
    case "ROUND_ROBIN": {
      const cursor = state.cursors.get(cluster.name) ?? 0;
      state.cursors.set(cluster.name, (cursor + 1) % n);
      return endpoints[cursor % n];
    }
    case "RANDOM":
      return endpoints[Math.min(n - 1, Math.floor(random() * n))];
    case "LEAST_REQUEST": {
      const chosen = n === 1 ? endpoints[0] : leastOfTwo(endpoints, state, random);
      if (chosen) state.active.set(endpointKey(chosen), (state.active.get(endpointKey(chosen)) ?? 0) + 1);
      return chosen;
    }
    default: {
      const _exhaustive: never = cluster.loadBalancer;
      return _exhaustive;
    }
  }
}

function leastOfTwo(
  endpoints: readonly Endpoint[],
  state: LoadBalancerState,
  random: () => number,
): Endpoint | undefined {
  const n = endpoints.length;
  const i = Math.min(n - 1, Math.floor(random() * n));
  let j = Math.min(n - 2, Math.floor(random() * (n - 1)));
  if (j >= i) j++;
  const a = endpoints[i];
  const b = endpoints[j];
  if (!a || !b) return a ?? b;
  return (state.active.get(endpointKey(b)) ?? 0) < (state.active.get(endpointKey(a)) ?? 0) ? b : a;
}

function endpointKey(endpoint: Endpoint): string {
  return `${endpoint.address}:${endpoint.port}`;
}
