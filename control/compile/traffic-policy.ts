import type { TrafficPolicy } from "../model/destination-rule.ts";
import { parseDurationMs } from "../model/duration.ts";
import type {
  Cluster,
  ConnectionPoolPolicy,
  ConsistentHashPolicy,
  OutlierDetectionPolicy,
} from "./snapshot.ts";

/** Istio's default since 1.14 when a DestinationRule sets no load balancer. */
export const DEFAULT_LOAD_BALANCER: Cluster["loadBalancer"] = "LEAST_REQUEST";

/** Envoy's default ring size. */
const DEFAULT_RING_SIZE = 1024;

/** The four policy fields a port-level setting or a subset can override. */
type PolicyFields = Pick<TrafficPolicy, "loadBalancer" | "connectionPool" | "outlierDetection" | "tls">;

/**
 * The traffic policy in force for one cluster, merged as Istio's `MergeTrafficPolicy` does: the
 * rule's port-level settings for this port replace all four fields of the rule's policy (no
 * inheritance: an unset field falls back to defaults); a subset's fields replace the rule's field
 * by field; then the subset's port-level settings for this port replace all four again.
 *
 * @example
 * ```ts
 * effectiveTrafficPolicy(rule.trafficPolicy, subset.trafficPolicy, 9080)?.loadBalancer;
 * ```
 */
export function effectiveTrafficPolicy(
  rule: TrafficPolicy | undefined,
  subset: TrafficPolicy | undefined,
  port: number,
): PolicyFields | undefined {
  const base = withPortLevel(rule, port);
  if (!subset) return base;
  const merged: PolicyFields = { ...base };
  if (subset.loadBalancer) merged.loadBalancer = subset.loadBalancer;
  if (subset.connectionPool) merged.connectionPool = subset.connectionPool;
  if (subset.outlierDetection) merged.outlierDetection = subset.outlierDetection;
  if (subset.tls) merged.tls = subset.tls;
  const portLevel = subset.portLevelSettings?.find((s) => s.port?.number === port);
  return portLevel ? fieldsOf(portLevel) : merged;
}

function withPortLevel(policy: TrafficPolicy | undefined, port: number): PolicyFields | undefined {
  if (!policy) return undefined;
  const portLevel = policy.portLevelSettings?.find((s) => s.port?.number === port);
  return fieldsOf(portLevel ?? policy);
}

function fieldsOf(p: PolicyFields): PolicyFields {
  const out: PolicyFields = {};
  if (p.loadBalancer) out.loadBalancer = p.loadBalancer;
  if (p.connectionPool) out.connectionPool = p.connectionPool;
  if (p.outlierDetection) out.outlierDetection = p.outlierDetection;
  if (p.tls) out.tls = p.tls;
  return out;
}

/** The cluster fields compiled from an effective traffic policy. */
export type ClusterPolicy = Pick<
  Cluster,
  "loadBalancer" | "consistentHash" | "connectionPool" | "outlierDetection"
>;

/**
 * Compiles an effective traffic policy into cluster fields (defaults filled in).
 *
 * @example
 * ```ts
 * compileClusterPolicy({ loadBalancer: { consistentHash: { httpHeaderName: "x-user" } } }).consistentHash;
 * // { key: { kind: "header", name: "x-user" }, minimumRingSize: 1024 }
 * ```
 */
export function compileClusterPolicy(policy: PolicyFields | undefined): ClusterPolicy {
  const out: ClusterPolicy = { loadBalancer: simpleLoadBalancer(policy?.loadBalancer?.simple) };
  const hash = consistentHashOf(policy?.loadBalancer?.consistentHash);
  if (hash) out.consistentHash = hash;
  const pool = connectionPoolOf(policy?.connectionPool);
  if (pool) out.connectionPool = pool;
  const outlier = outlierDetectionOf(policy?.outlierDetection);
  if (outlier) out.outlierDetection = outlier;
  return out;
}

type Simple = NonNullable<NonNullable<TrafficPolicy["loadBalancer"]>["simple"]>;

function simpleLoadBalancer(simple: Simple | undefined): Cluster["loadBalancer"] {
  switch (simple) {
    case "ROUND_ROBIN":
      return "ROUND_ROBIN";
    case "RANDOM":
      return "RANDOM";
    case "LEAST_REQUEST":
    case "LEAST_CONN":
      return "LEAST_REQUEST";
    case "PASSTHROUGH":
    case "UNSPECIFIED":
    case undefined:
      return DEFAULT_LOAD_BALANCER;
    default: {
      const _exhaustive: never = simple;
      return _exhaustive;
    }
  }
}

type ConsistentHashSpec = NonNullable<NonNullable<TrafficPolicy["loadBalancer"]>["consistentHash"]>;

function consistentHashOf(spec: ConsistentHashSpec | undefined): ConsistentHashPolicy | undefined {
  if (!spec) return undefined;
  const minimumRingSize = Math.max(
    1,
    spec.ringHash?.minimumRingSize ?? spec.minimumRingSize ?? DEFAULT_RING_SIZE,
  );
  if (spec.httpHeaderName)
    return { key: { kind: "header", name: spec.httpHeaderName.toLowerCase() }, minimumRingSize };
  if (spec.httpCookie) {
    const ttlMs = spec.httpCookie.ttl === undefined ? undefined : parseDurationMs(spec.httpCookie.ttl);
    return {
      key: {
        kind: "cookie",
        name: spec.httpCookie.name,
        ...(spec.httpCookie.path ? { path: spec.httpCookie.path } : {}),
        ...(ttlMs !== undefined ? { ttlMs } : {}),
        ...(spec.httpCookie.attributes?.length ? { attributes: spec.httpCookie.attributes } : {}),
      },
      minimumRingSize,
    };
  }
  if (spec.useSourceIp) return { key: { kind: "sourceIp" }, minimumRingSize };
  if (spec.httpQueryParameterName)
    return { key: { kind: "queryParameter", name: spec.httpQueryParameterName }, minimumRingSize };
  return undefined;
}

type ConnectionPoolSpec = NonNullable<TrafficPolicy["connectionPool"]>;

function connectionPoolOf(spec: ConnectionPoolSpec | undefined): ConnectionPoolPolicy | undefined {
  if (!spec) return undefined;
  const out: ConnectionPoolPolicy = {};
  const positive = (n: number | undefined) => (n !== undefined && n > 0 ? n : undefined);
  const ms = (d: string | undefined) => (d === undefined ? undefined : parseDurationMs(d));
  const fields: [keyof ConnectionPoolPolicy, number | undefined][] = [
    ["maxConnections", positive(spec.tcp?.maxConnections)],
    ["connectTimeoutMs", ms(spec.tcp?.connectTimeout)],
    ["http1MaxPendingRequests", positive(spec.http?.http1MaxPendingRequests)],
    ["http2MaxRequests", positive(spec.http?.http2MaxRequests)],
    ["maxRequestsPerConnection", positive(spec.http?.maxRequestsPerConnection)],
    ["idleTimeoutMs", ms(spec.http?.idleTimeout ?? spec.tcp?.idleTimeout)],
  ];
  for (const [name, value] of fields) if (value !== undefined) out[name] = value;
  return Object.keys(out).length > 0 ? out : undefined;
}

type OutlierSpec = NonNullable<TrafficPolicy["outlierDetection"]>;

/** Istio/Envoy defaults: 5 consecutive 5xx, gateway errors off, 10 s interval, 30 s ejection, 10 %. */
function outlierDetectionOf(spec: OutlierSpec | undefined): OutlierDetectionPolicy | undefined {
  if (!spec) return undefined;
  const ms = (d: string | undefined, fallback: number) =>
    d === undefined ? fallback : (parseDurationMs(d) ?? fallback);
  return {
    consecutive5xxErrors: spec.consecutive5xxErrors ?? 5,
    // The deprecated `consecutiveErrors` is Istio's old name for gateway errors.
    consecutiveGatewayErrors: spec.consecutiveGatewayErrors ?? spec.consecutiveErrors ?? 0,
    intervalMs: ms(spec.interval, 10_000),
    baseEjectionTimeMs: ms(spec.baseEjectionTime, 30_000),
    maxEjectionPercent: Math.min(100, Math.max(0, spec.maxEjectionPercent ?? 10)),
  };
}
