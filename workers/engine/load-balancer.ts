import type { Cluster, Endpoint } from "../../control/compile/snapshot.ts";
import { buildHashRing, type HashRing, hash32, ringOwner } from "./hash-ring.ts";
import { createOutlierDetector, type OutlierDetector } from "./outlier-detection.ts";

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
  /** Outlier detection (ejected endpoints are skipped by every pick). */
  readonly outliers: OutlierDetector;
  /** The clock outlier detection reads (ms). */
  readonly clock: () => number;
  /**
   * Records how a request to a picked endpoint ended (HTTP status; 503 for a connect failure or
   * reset, 504 for a timeout) for outlier detection.
   */
  report(cluster: Cluster, endpoint: Endpoint, status: number): void;
  /** Consistent-hash rings per cluster, rebuilt when its endpoints change. */
  readonly rings: Map<string, { signature: string; ring: HashRing }>;
  /** Smooth weighted round robin: each endpoint's running credit (`address:port`), per cluster. */
  readonly credits: Map<string, Map<string, number>>;
}

/** Per-request inputs of a pick. */
export interface PickRequest {
  /** The consistent-hash key ({@link hashKeyOf}); without one a hash cluster picks at random. */
  hashKey?: string;
  /** Endpoints to pass over on the ring when another is usable (already tried by a retry). */
  avoid?: readonly Endpoint[];
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
export function createLoadBalancerState(opts: { clock?: () => number } = {}): LoadBalancerState {
  const cursors = new Map<string, number>();
  const active = new Map<string, number>();
  const outliers = createOutlierDetector();
  const clock = opts.clock ?? (() => Date.now());
  return {
    cursors,
    active,
    outliers,
    clock,
    rings: new Map(),
    credits: new Map(),
    report(cluster, endpoint, status) {
      outliers.record(cluster, endpoint, status, clock());
    },
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
 * Picks an endpoint of a cluster with its policy: a ring hash on the request's key for
 * `consistentHash` clusters (random without a key, as Envoy), else ROUND_ROBIN (in order, per
 * cluster), RANDOM, or LEAST_REQUEST (Envoy's power of two choices: two random endpoints, the one
 * with fewer requests in flight), each weighted by endpoint `weight` when one is set. Endpoints
 * ejected by outlier detection are skipped. Undefined when no endpoint is left (the caller answers
 * 503 UH).
 */
export function pickEndpoint(
  cluster: Cluster,
  state: LoadBalancerState,
  random: () => number,
  request: PickRequest = {},
): Endpoint | undefined {
  const now = cluster.outlierDetection ? state.clock() : 0;
  const ejected = (e: Endpoint) =>
    cluster.outlierDetection !== undefined && state.outliers.isEjected(cluster, e, now);
  if (cluster.consistentHash && request.hashKey !== undefined)
    return pickByHash(cluster, state, request.hashKey, ejected, request.avoid ?? []);
  const endpoints = cluster.outlierDetection
    ? cluster.endpoints.filter((e) => !ejected(e))
    : cluster.endpoints;
  const n = endpoints.length;
  if (n === 0) return undefined;
  if (cluster.consistentHash) return endpoints[Math.min(n - 1, Math.floor(random() * n))];
  if (endpoints.some((e) => e.weight !== undefined)) return pickWeighted(cluster, endpoints, state, random);
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

/**
 * Endpoint `weight`s, as Envoy's weighted balancers: ROUND_ROBIN is a smooth weighted round robin
 * (each pick adds every endpoint's weight to its credit and takes the largest, which pays the
 * total back), so picks interleave in exact proportion; RANDOM draws by weight; LEAST_REQUEST
 * draws two by weight and keeps the one with fewer requests in flight per unit of weight.
 */
function pickWeighted(
  cluster: Cluster,
  endpoints: readonly Endpoint[],
  state: LoadBalancerState,
  random: () => number,
): Endpoint | undefined {
  const weightOf = (e: Endpoint) => e.weight ?? 1;
  const total = endpoints.reduce((sum, e) => sum + weightOf(e), 0);
  const draw = () => {
    let rest = random() * total;
    for (const e of endpoints) {
      rest -= weightOf(e);
      if (rest < 0) return e;
    }
    return endpoints[endpoints.length - 1];
  };
  switch (cluster.loadBalancer) {
    case "ROUND_ROBIN": {
      const credits = state.credits.get(cluster.name) ?? new Map<string, number>();
      state.credits.set(cluster.name, credits);
      let best: Endpoint | undefined;
      let bestCredit = Number.NEGATIVE_INFINITY;
      for (const e of endpoints) {
        const credit = (credits.get(endpointKey(e)) ?? 0) + weightOf(e);
        credits.set(endpointKey(e), credit);
        if (credit > bestCredit) [best, bestCredit] = [e, credit];
      }
      if (best) credits.set(endpointKey(best), bestCredit - total);
      return best;
    }
    case "RANDOM":
      return draw();
    case "LEAST_REQUEST": {
      const [a, b] = [draw(), draw()];
      if (!a || !b) return a ?? b;
      const load = (e: Endpoint) => (state.active.get(endpointKey(e)) ?? 0) / weightOf(e);
      const chosen = load(b) < load(a) ? b : a;
      state.active.set(endpointKey(chosen), (state.active.get(endpointKey(chosen)) ?? 0) + 1);
      return chosen;
    }
    default: {
      const _exhaustive: never = cluster.loadBalancer;
      return _exhaustive;
    }
  }
}

function pickByHash(
  cluster: Cluster,
  state: LoadBalancerState,
  key: string,
  ejected: (e: Endpoint) => boolean,
  avoid: readonly Endpoint[],
): Endpoint | undefined {
  const endpoints = cluster.endpoints;
  const size = cluster.consistentHash?.minimumRingSize ?? 1024;
  const signature = `${size}|${endpoints.map((e) => `${endpointKey(e)}*${e.weight ?? 1}`).join(",")}`;
  let cached = state.rings.get(cluster.name);
  if (cached?.signature !== signature) {
    cached = { signature, ring: buildHashRing(endpoints, size) };
    state.rings.set(cluster.name, cached);
  }
  const hash = hash32(key);
  const healthy = (i: number) => {
    const e = endpoints[i];
    return e !== undefined && !ejected(e);
  };
  const fresh = (i: number) => {
    const e = endpoints[i];
    return healthy(i) && !avoid.some((t) => e !== undefined && t.address === e.address && t.port === e.port);
  };
  const index = ringOwner(cached.ring, hash, fresh) ?? ringOwner(cached.ring, hash, healthy);
  return index === undefined ? undefined : endpoints[index];
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
