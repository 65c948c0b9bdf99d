import { Counter, Histogram, Registry } from "prom-client";
import type { AttributeSource } from "../../control/model/telemetry-expression.ts";
import {
  type IstioMetric,
  type MetricPlan,
  metricLabels,
  planMetric,
  type Reporter,
  type TelemetryPolicy,
} from "../telemetry/index.ts";

/** One standard metric of the proxy: its selector name (for Telemetry overrides) and exposition. */
export interface MetricDefinition {
  metric: IstioMetric;
  name: string;
  help: string;
  /** The standard labels, before tag overrides. */
  labelNames: readonly string[];
}

/** A series of one metric with its labels resolved; `add` counts (counters) or observes (histograms). */
export interface Series {
  add(value: number): void;
}

/**
 * The proxy's Istio metrics in one registry (never prom-client's global one), with the policy's
 * tag overrides, disabled reporters, histogram buckets and (beyond Istio) expiry of idle series
 * applied alike to HTTP, TCP and gRPC message metrics.
 */
export interface MetricSeries {
  /** Installs the plans of a policy; a change of labels, buckets or expiry starts a fresh registry. */
  configure(policy: TelemetryPolicy): void;
  /**
   * The series a request or connection adds to, or undefined when the policy disables the metric
   * for this reporter. Labels are resolved once; a later reconfiguration re-resolves them.
   */
  series(
    metric: IstioMetric,
    reporter: Reporter,
    base: Readonly<Record<string, string>>,
    attributes: AttributeSource,
  ): Series | undefined;
  /** Drops series idle longer than the policy's expiry. */
  expire(): void;
  /** The Prometheus text exposition (expired series dropped first). */
  text(): Promise<string>;
  readonly contentType: string;
  /** Live series per metric name (a cardinality gauge for tests and `/stats`). */
  seriesCount(): Record<string, number>;
}

interface InstalledMetric {
  plan: MetricPlan;
  instrument: Counter | Histogram;
  /** Series key → labels and last update (ms). */
  seen: Map<string, { labels: Record<string, string>; at: number }>;
}

interface Installed {
  key: string;
  registry: Registry;
  metrics: Map<IstioMetric, InstalledMetric>;
  expiryMs?: number;
}

/**
 * Creates the metric-series layer over `definitions` (HTTP, TCP and gRPC recorders share one).
 * Nothing is recorded before the first {@link MetricSeries.configure}.
 *
 * @example
 * ```ts
 * const metrics = createMetricSeries([{ metric: "TCP_SENT_BYTES", name: "istio_tcp_sent_bytes_total",
 *   help: "…", labelNames: TCP_LABEL_NAMES }], Date.now);
 * metrics.configure(policy);
 * metrics.series("TCP_SENT_BYTES", "destination", tcpLabels(record), tcpAttributes(record))?.add(512);
 * ```
 */
export function createMetricSeries(
  definitions: readonly MetricDefinition[],
  clock: () => number,
): MetricSeries {
  let installed: Installed | undefined;

  const install = (policy: TelemetryPolicy, plans: MetricPlan[], key: string): Installed => {
    const registry = new Registry();
    const metrics = new Map<IstioMetric, InstalledMetric>();
    definitions.forEach((definition, i) => {
      const plan = plans[i] as MetricPlan;
      const common = {
        name: definition.name,
        help: definition.help,
        labelNames: [...plan.labelNames],
        registers: [registry],
      };
      const instrument = plan.buckets
        ? new Histogram({ ...common, buckets: [...plan.buckets] })
        : new Counter(common);
      metrics.set(definition.metric, { plan, instrument, seen: new Map() });
    });
    return {
      key,
      registry,
      metrics,
      ...(policy.metrics.expiryMs === undefined ? {} : { expiryMs: policy.metrics.expiryMs }),
    };
  };

  /** Labels and key of one series in the installed registry, or undefined when disabled. */
  const resolve = (
    current: Installed,
    metric: IstioMetric,
    reporter: Reporter,
    base: Readonly<Record<string, string>>,
    attributes: AttributeSource,
  ) => {
    const entry = current.metrics.get(metric);
    if (!entry?.plan.reporters[reporter].enabled) return undefined;
    const labels = metricLabels(entry.plan, reporter, base, attributes);
    return { current, entry, labels, key: seriesKey(labels) };
  };

  const expire = () => {
    const current = installed;
    if (current?.expiryMs === undefined) return;
    const oldest = clock() - current.expiryMs;
    for (const { instrument, seen } of current.metrics.values()) {
      for (const [key, entry] of seen) {
        if (entry.at > oldest) continue;
        instrument.remove(entry.labels);
        seen.delete(key);
      }
    }
  };

  return {
    contentType: Registry.PROMETHEUS_CONTENT_TYPE,
    configure(policy) {
      const plans = definitions.map((d) => planMetric(policy, d.metric, d.labelNames));
      const key = JSON.stringify({ plans, expiry: policy.metrics.expiryMs });
      if (installed?.key !== key) installed = install(policy, plans, key);
    },
    series(metric, reporter, base, attributes) {
      if (!installed) return undefined;
      let resolved = resolve(installed, metric, reporter, base, attributes);
      if (!resolved) return undefined;
      return {
        add(value) {
          if (installed && resolved?.current !== installed)
            resolved = resolve(installed, metric, reporter, base, attributes);
          if (!resolved) return;
          const { entry, labels, key } = resolved;
          if (entry.instrument instanceof Histogram) entry.instrument.observe(labels, value);
          else entry.instrument.inc(labels, value);
          const now = clock();
          const seen = entry.seen.get(key);
          if (seen) seen.at = now;
          else entry.seen.set(key, { labels, at: now });
        },
      };
    },
    expire,
    async text() {
      expire();
      return installed ? installed.registry.metrics() : "";
    },
    seriesCount() {
      const counts: Record<string, number> = {};
      for (const definition of definitions)
        counts[definition.name] = installed?.metrics.get(definition.metric)?.seen.size ?? 0;
      return counts;
    },
  };
}

function seriesKey(labels: Record<string, string>): string {
  return JSON.stringify(Object.entries(labels).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)));
}
