import type { AttributeSource } from "../../control/model/telemetry-expression.ts";
import {
  type IstioMetric,
  type MetricPlan,
  metricLabels,
  planMetric,
  type Reporter,
  type TelemetryPolicy,
} from "../telemetry/index.ts";
import {
  checkFamilyNames,
  PROMETHEUS_CONTENT_TYPE,
  renderExposition,
  type SeriesValues,
} from "./metric-exposition.ts";

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
 * The proxy's Istio metrics in a store of its own (rendered as Prometheus text), with the policy's
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

/** A series' values and when it was last updated (ms). */
interface SeriesState extends SeriesValues {
  at: number;
}

interface InstalledMetric {
  definition: MetricDefinition;
  plan: MetricPlan;
  /** Series key → values. */
  series: Map<string, SeriesState>;
}

interface Installed {
  key: string;
  metrics: Map<IstioMetric, InstalledMetric>;
  expiryMs?: number;
}

/**
 * Creates the metric-series layer over `definitions` (HTTP, TCP and gRPC recorders share one).
 * Nothing is recorded before the first {@link MetricSeries.configure}.
 *
 * The values are kept here, not in prom-client: its per-call label validation and hashing of
 * 25 labels, four metrics per request, cost more than the rest of the request's telemetry. A
 * series is found by one key per label set instead, and the text is rendered at scrape time.
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
    const metrics = new Map<IstioMetric, InstalledMetric>();
    definitions.forEach((definition, i) => {
      const plan = plans[i] as MetricPlan;
      checkFamilyNames(definition.name, plan.labelNames, plan.buckets !== undefined);
      metrics.set(definition.metric, { definition, plan, series: new Map() });
    });
    return {
      key,
      metrics,
      ...(policy.metrics.expiryMs === undefined ? {} : { expiryMs: policy.metrics.expiryMs }),
    };
  };

  // Keys of base label sets recorded without tag overrides: the several metrics of one request or
  // connection pass the same base object, so its key is computed once, not once per metric.
  const baseKeys = new WeakMap<object, string>();

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
    if (entry.plan.reporters[reporter].tags.length === 0) {
      // No override to apply: the base labels are the series' labels (never mutated, so not copied).
      let key = baseKeys.get(base);
      if (key === undefined) {
        key = seriesKey(base);
        baseKeys.set(base, key);
      }
      return { current, entry, labels: base, key };
    }
    const labels = metricLabels(entry.plan, reporter, base, attributes);
    return { current, entry, labels, key: seriesKey(labels) };
  };

  const expire = () => {
    const current = installed;
    if (current?.expiryMs === undefined) return;
    const oldest = clock() - current.expiryMs;
    for (const { series } of current.metrics.values())
      for (const [key, state] of series) if (state.at <= oldest) series.delete(key);
  };

  return {
    contentType: PROMETHEUS_CONTENT_TYPE,
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
          if (!resolved || !Number.isFinite(value)) return;
          const { entry, labels, key } = resolved;
          const bounds = entry.plan.buckets;
          // A counter only goes up (prom-client refused a negative increment too).
          if (!bounds && value < 0) return;
          const now = clock();
          let state = entry.series.get(key);
          if (!state) {
            state = {
              labels,
              sum: 0,
              count: 0,
              at: now,
              ...(bounds ? { buckets: bounds.map(() => 0) } : {}),
            };
            entry.series.set(key, state);
          }
          state.sum += value;
          state.count++;
          state.at = now;
          if (bounds && state.buckets) {
            // The first bucket whose upper bound holds the value; above the last one, only `+Inf` (count).
            for (let i = 0; i < bounds.length; i++)
              if (value <= (bounds[i] as number)) {
                state.buckets[i] = (state.buckets[i] ?? 0) + 1;
                break;
              }
          }
        },
      };
    },
    expire,
    async text() {
      expire();
      if (!installed) return "";
      return renderExposition(
        [...installed.metrics.values()].map(({ definition, plan, series }) => ({
          name: definition.name,
          help: definition.help,
          ...(plan.buckets ? { buckets: plan.buckets } : {}),
          series: series.values(),
        })),
      );
    },
    seriesCount() {
      const counts: Record<string, number> = {};
      for (const definition of definitions)
        counts[definition.name] = installed?.metrics.get(definition.metric)?.series.size ?? 0;
      return counts;
    },
  };
}

/**
 * Identifies a label set. The labels of one metric always come from one producer (`istioLabels`,
 * `tcpLabels`, then the plan's overrides in a fixed order), so equal sets list their names in the
 * same order and the JSON text of the object itself is the key, with no sorting per request.
 */
function seriesKey(labels: Readonly<Record<string, string>>): string {
  return JSON.stringify(labels);
}
