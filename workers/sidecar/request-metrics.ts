import { Counter, Histogram, Registry } from "prom-client";
import {
  HTTP_METRIC_NAMES,
  type HttpMetric,
  istioLabels,
  type MetricPlan,
  metricLabels,
  planMetrics,
  type RequestRecord,
  recordAttributes,
  type TelemetryPolicy,
} from "../telemetry/index.ts";

const HELP: Readonly<Record<HttpMetric, string>> = {
  REQUEST_COUNT: "Requests handled by this proxy (Istio standard metric).",
  REQUEST_DURATION:
    "Request duration in milliseconds, request start to response end (Istio standard metric).",
  REQUEST_SIZE: "HTTP request body size in bytes (Istio standard metric).",
  RESPONSE_SIZE: "HTTP response body size in bytes (Istio standard metric).",
};

const METRICS: readonly HttpMetric[] = ["REQUEST_COUNT", "REQUEST_DURATION", "REQUEST_SIZE", "RESPONSE_SIZE"];

/** Istio's HTTP metrics of one proxy, in a registry of their own (never prom-client's global one). */
export interface RequestMetrics {
  /** Installs the plans of a policy; a change of labels, buckets or expiry starts a fresh registry. */
  configure(policy: TelemetryPolicy): void;
  record(record: RequestRecord): void;
  /** Drops series idle longer than the policy's expiry. */
  expire(): void;
  /** The Prometheus text exposition (expired series dropped first). */
  text(): Promise<string>;
  readonly contentType: string;
  /** Live series per metric (a cardinality gauge for tests and `/stats`). */
  seriesCount(): Record<string, number>;
}

interface Installed {
  key: string;
  registry: Registry;
  plans: Record<HttpMetric, MetricPlan>;
  metrics: Record<HttpMetric, Counter | Histogram>;
  /** Per metric: series key → labels and last update (ms). */
  seen: Record<HttpMetric, Map<string, { labels: Record<string, string>; at: number }>>;
  expiryMs?: number;
}

/**
 * Creates the sidecar's request metrics: `istio_requests_total`,
 * `istio_request_duration_milliseconds`, `istio_request_bytes` and `istio_response_bytes`, with
 * Istio's labels, the policy's tag overrides and buckets, and (beyond Istio) expiry of idle series.
 *
 * @example
 * ```ts
 * const metrics = createRequestMetrics(Date.now);
 * metrics.configure(policy);
 * metrics.record(record);
 * res.end(await metrics.text());
 * ```
 */
export function createRequestMetrics(clock: () => number): RequestMetrics {
  let installed: Installed | undefined;

  const install = (
    policy: TelemetryPolicy,
    plans: Record<HttpMetric, MetricPlan>,
    key: string,
  ): Installed => {
    const registry = new Registry();
    const build = (metric: HttpMetric): Counter | Histogram => {
      const plan = plans[metric];
      const common = {
        name: HTTP_METRIC_NAMES[metric],
        help: HELP[metric],
        labelNames: [...plan.labelNames],
        registers: [registry],
      };
      return plan.buckets ? new Histogram({ ...common, buckets: [...plan.buckets] }) : new Counter(common);
    };
    return {
      key,
      registry,
      plans,
      metrics: {
        REQUEST_COUNT: build("REQUEST_COUNT"),
        REQUEST_DURATION: build("REQUEST_DURATION"),
        REQUEST_SIZE: build("REQUEST_SIZE"),
        RESPONSE_SIZE: build("RESPONSE_SIZE"),
      },
      seen: {
        REQUEST_COUNT: new Map(),
        REQUEST_DURATION: new Map(),
        REQUEST_SIZE: new Map(),
        RESPONSE_SIZE: new Map(),
      },
      ...(policy.metrics.expiryMs === undefined ? {} : { expiryMs: policy.metrics.expiryMs }),
    };
  };

  const expire = () => {
    const current = installed;
    if (current?.expiryMs === undefined) return;
    const oldest = clock() - current.expiryMs;
    for (const metric of METRICS) {
      for (const [key, entry] of current.seen[metric]) {
        if (entry.at > oldest) continue;
        current.metrics[metric].remove(entry.labels);
        current.seen[metric].delete(key);
      }
    }
  };

  return {
    contentType: Registry.PROMETHEUS_CONTENT_TYPE,
    configure(policy) {
      const plans = planMetrics(policy);
      const key = JSON.stringify({ plans, expiry: policy.metrics.expiryMs });
      if (installed?.key !== key) installed = install(policy, plans, key);
    },
    record(record) {
      const current = installed;
      if (!current) return;
      const base = istioLabels(record);
      const attributes = recordAttributes(record);
      const now = clock();
      const values: Record<HttpMetric, number> = {
        REQUEST_COUNT: 1,
        REQUEST_DURATION: record.durationMs,
        REQUEST_SIZE: record.requestBytes,
        RESPONSE_SIZE: record.responseBytes,
      };
      for (const metric of METRICS) {
        const plan = current.plans[metric];
        if (!plan.reporters[record.reporter].enabled) continue;
        const labels = metricLabels(plan, record.reporter, base, attributes);
        const instrument = current.metrics[metric];
        if (instrument instanceof Histogram) instrument.observe(labels, values[metric]);
        else instrument.inc(labels, 1);
        current.seen[metric].set(seriesKey(labels), { labels, at: now });
      }
    },
    expire,
    async text() {
      expire();
      return installed ? installed.registry.metrics() : "";
    },
    seriesCount() {
      const counts: Record<string, number> = {};
      for (const metric of METRICS) counts[HTTP_METRIC_NAMES[metric]] = installed?.seen[metric].size ?? 0;
      return counts;
    },
  };
}

function seriesKey(labels: Record<string, string>): string {
  return JSON.stringify(Object.entries(labels).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)));
}
