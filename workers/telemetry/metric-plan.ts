import { type AttributeSource, evaluateValue } from "../../control/model/telemetry-expression.ts";
import { ISTIO_LABEL_NAMES } from "./istio-labels.ts";
import type { Reporter } from "./request-record.ts";
import type { HistogramMetric, MetricOverride, TagOverride, TelemetryPolicy } from "./telemetry-policy.ts";

/** The HTTP metrics a proxy reports, by Istio's selector name. */
export type HttpMetric = "REQUEST_COUNT" | HistogramMetric;

/** Every standard metric a proxy reports, by Istio's selector name (HTTP, TCP and gRPC messages). */
export type IstioMetric = Exclude<MetricOverride["metric"], "ALL_METRICS">;

/** Prometheus names of the HTTP metrics (Istio's). */
export const HTTP_METRIC_NAMES: Readonly<Record<HttpMetric, string>> = {
  REQUEST_COUNT: "istio_requests_total",
  REQUEST_DURATION: "istio_request_duration_milliseconds",
  REQUEST_SIZE: "istio_request_bytes",
  RESPONSE_SIZE: "istio_response_bytes",
};

/** How one metric is reported: its label names (fixed per registry) and each reporter's changes. */
export interface MetricPlan {
  metric: IstioMetric;
  /** The metric's standard labels plus any a tag override adds. */
  labelNames: readonly string[];
  /** Bucket boundaries (histograms only). */
  buckets?: readonly number[];
  reporters: Readonly<Record<Reporter, { enabled: boolean; tags: readonly TagOverride[] }>>;
}

/**
 * Applies a policy's overrides to each HTTP metric: which reporters report it and which tags they
 * remove or set, in precedence order (later wins).
 *
 * @example
 * ```ts
 * const plans = planMetrics(policy);
 * plans.REQUEST_COUNT.reporters.source.enabled; // false if a CLIENT override disabled it
 * ```
 */
export function planMetrics(policy: TelemetryPolicy): Record<HttpMetric, MetricPlan> {
  return {
    REQUEST_COUNT: planMetric(policy, "REQUEST_COUNT", ISTIO_LABEL_NAMES),
    REQUEST_DURATION: planMetric(policy, "REQUEST_DURATION", ISTIO_LABEL_NAMES),
    REQUEST_SIZE: planMetric(policy, "REQUEST_SIZE", ISTIO_LABEL_NAMES),
    RESPONSE_SIZE: planMetric(policy, "RESPONSE_SIZE", ISTIO_LABEL_NAMES),
  };
}

/**
 * Applies a policy's overrides to one metric (HTTP, TCP or gRPC messages) whose standard labels are
 * `standardLabels`; histograms (the three HTTP ones) get the policy's buckets.
 *
 * @example
 * ```ts
 * planMetric(policy, "TCP_SENT_BYTES", TCP_LABEL_NAMES).reporters.destination.tags;
 * ```
 */
export function planMetric(
  policy: TelemetryPolicy,
  metric: IstioMetric,
  standardLabels: readonly string[],
): MetricPlan {
  const names = new Set<string>(standardLabels);
  const reporters = {
    source: { enabled: true, tags: [] as TagOverride[] },
    destination: { enabled: true, tags: [] as TagOverride[] },
  };
  for (const override of policy.metrics.overrides) {
    if (override.metric !== "ALL_METRICS" && override.metric !== metric) continue;
    for (const reporter of override.reporters) {
      if (override.disabled !== undefined) reporters[reporter].enabled = !override.disabled;
      reporters[reporter].tags.push(...override.tags);
    }
    for (const tag of override.tags) if (!("remove" in tag)) names.add(tag.tag);
  }
  const buckets = isHistogram(metric) ? policy.metrics.buckets[metric] : undefined;
  return { metric, labelNames: [...names], reporters, ...(buckets ? { buckets } : {}) };
}

function isHistogram(metric: IstioMetric): metric is HistogramMetric {
  return metric === "REQUEST_DURATION" || metric === "REQUEST_SIZE" || metric === "RESPONSE_SIZE";
}

/**
 * The labels one metric carries for one request: the standard labels with the reporter's tag
 * overrides applied (REMOVE drops a label, UPSERT sets it from an expression).
 *
 * @example
 * ```ts
 * metricLabels(plans.REQUEST_COUNT, "source", istioLabels(record), recordAttributes(record));
 * ```
 */
export function metricLabels(
  plan: MetricPlan,
  reporter: Reporter,
  base: Readonly<Record<string, string>>,
  attributes: AttributeSource,
): Record<string, string> {
  const labels: Record<string, string> = { ...base };
  for (const tag of plan.reporters[reporter].tags) {
    if ("remove" in tag) delete labels[tag.tag];
    else labels[tag.tag] = evaluateValue(tag.value, attributes);
  }
  return labels;
}
