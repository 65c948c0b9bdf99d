import type { Cluster, Endpoint } from "../../control/compile/snapshot.ts";
import type { AttemptOutcome } from "./retry-plan.ts";

/** Envoy's default cap on one ejection (`max_ejection_time`). */
const MAX_EJECTION_TIME_MS = 300_000;

/** Catch-up sweeps run at most this many intervals at once (after a long idle period). */
const MAX_CATCH_UP_SWEEPS = 1_000;

interface EndpointMonitor {
  consecutive5xx: number;
  consecutiveGateway: number;
  ejectedAt?: number;
  /** Envoy's ejection backoff: how many times in a row it was ejected (decays while healthy). */
  ejections: number;
  lastUnejectedAt?: number;
}

interface ClusterDetector {
  lastSweep: number;
  monitors: Map<string, EndpointMonitor>;
}

/**
 * Outlier detection state of every cluster of a proxy (Envoy's outlier detector, Istio
 * `outlierDetection`): pure, the time is passed in. Keep one per proxy (or per isolate) across
 * snapshots; clusters without `outlierDetection` are ignored.
 */
export interface OutlierDetector {
  /**
   * Records how a request to an endpoint ended: an HTTP status, or a local failure (connect
   * failure and reset count as 503, a timeout as 504, as Envoy maps them). A 5xx in a row
   * `consecutive5xxErrors` times (502/503/504 `consecutiveGatewayErrors` times) ejects the
   * endpoint at once, unless that would eject more than `maxEjectionPercent` of the cluster
   * (one endpoint can always be ejected). Any other status resets the counts.
   */
  record(cluster: Cluster, endpoint: Endpoint, status: number, now: number): void;
  /**
   * Whether the endpoint is ejected now. Ejections end on the `interval` sweep after
   * `baseEjectionTime × ejections` (capped at 300 s) has passed.
   */
  isEjected(cluster: Cluster, endpoint: Endpoint, now: number): boolean;
  /** The ejected endpoints (`address:port`) of a cluster now. */
  ejected(cluster: Cluster, now: number): string[];
}

/**
 * Creates empty outlier detection state.
 *
 * @example
 * ```ts
 * const outliers = createOutlierDetector();
 * outliers.record(cluster, endpoint, 503, Date.now());
 * outliers.isEjected(cluster, endpoint, Date.now());
 * ```
 */
export function createOutlierDetector(): OutlierDetector {
  const clusters = new Map<string, ClusterDetector>();
  const detectorOf = (cluster: Cluster, now: number): ClusterDetector | undefined => {
    const policy = cluster.outlierDetection;
    if (!policy) return undefined;
    let detector = clusters.get(cluster.name);
    if (!detector) {
      detector = { lastSweep: now, monitors: new Map() };
      clusters.set(cluster.name, detector);
    }
    sweep(detector, cluster, now);
    return detector;
  };
  return {
    record(cluster, endpoint, status, now) {
      const detector = detectorOf(cluster, now);
      const policy = cluster.outlierDetection;
      if (!detector || !policy) return;
      const key = endpointKey(endpoint);
      let monitor = detector.monitors.get(key);
      if (!monitor) {
        monitor = { consecutive5xx: 0, consecutiveGateway: 0, ejections: 0 };
        detector.monitors.set(key, monitor);
      }
      if (status < 500 || status > 599) {
        monitor.consecutive5xx = 0;
        monitor.consecutiveGateway = 0;
        return;
      }
      monitor.consecutive5xx++;
      if (status >= 502 && status <= 504) monitor.consecutiveGateway++;
      else monitor.consecutiveGateway = 0;
      const tripped =
        (policy.consecutive5xxErrors > 0 && monitor.consecutive5xx >= policy.consecutive5xxErrors) ||
        (policy.consecutiveGatewayErrors > 0 &&
          monitor.consecutiveGateway >= policy.consecutiveGatewayErrors);
      if (!tripped || monitor.ejectedAt !== undefined) return;
      const members = cluster.endpoints.map(endpointKey);
      const active = members.filter((k) => detector.monitors.get(k)?.ejectedAt !== undefined).length;
      const percentAfter = (100 * (active + 1)) / Math.max(1, members.length);
      if (active > 0 && percentAfter > policy.maxEjectionPercent) return;
      monitor.ejectedAt = now;
      monitor.ejections++;
      monitor.consecutive5xx = 0;
      monitor.consecutiveGateway = 0;
    },
    isEjected(cluster, endpoint, now) {
      return detectorOf(cluster, now)?.monitors.get(endpointKey(endpoint))?.ejectedAt !== undefined;
    },
    ejected(cluster, now) {
      const detector = detectorOf(cluster, now);
      if (!detector) return [];
      return [...detector.monitors].filter(([, m]) => m.ejectedAt !== undefined).map(([k]) => k);
    },
  };
}

/** Runs the interval sweeps due by `now`: ends ejections whose time is up, decays backoff. */
function sweep(detector: ClusterDetector, cluster: Cluster, now: number): void {
  const policy = cluster.outlierDetection;
  if (!policy || policy.intervalMs <= 0) return;
  const due = Math.floor((now - detector.lastSweep) / policy.intervalMs);
  if (due <= 0) return;
  const skipped = Math.max(0, due - MAX_CATCH_UP_SWEEPS);
  for (let i = skipped + 1; i <= due; i++) {
    const tick = detector.lastSweep + i * policy.intervalMs;
    for (const monitor of detector.monitors.values()) {
      if (monitor.ejectedAt === undefined) {
        const since = monitor.lastUnejectedAt;
        if (monitor.ejections > 0 && since !== undefined && tick - since >= policy.intervalMs)
          monitor.ejections--;
        continue;
      }
      const ejectionMs = Math.min(
        policy.baseEjectionTimeMs * monitor.ejections,
        Math.max(policy.baseEjectionTimeMs, MAX_EJECTION_TIME_MS),
      );
      if (tick - monitor.ejectedAt >= ejectionMs) {
        monitor.ejectedAt = undefined;
        monitor.lastUnejectedAt = tick;
      }
    }
  }
  detector.lastSweep += due * policy.intervalMs;
}

function endpointKey(endpoint: Endpoint): string {
  return `${endpoint.address}:${endpoint.port}`;
}

/**
 * The status outlier detection counts for an attempt, as Envoy maps local failures: a connect
 * failure or reset is a 503, a timeout a 504.
 *
 * @example
 * ```ts
 * outlierStatusOf({ kind: "connect-failure" }); // 503
 * ```
 */
export function outlierStatusOf(outcome: AttemptOutcome): number {
  switch (outcome.kind) {
    case "response":
      return outcome.status;
    case "connect-failure":
    case "reset":
      return 503;
    case "per-try-timeout":
      return 504;
    default: {
      const _exhaustive: never = outcome;
      return Number(_exhaustive);
    }
  }
}
