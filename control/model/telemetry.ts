import { z } from "zod";
import type { PathSegment, Reporter } from "./diagnostics.ts";
import { checkDuration, checkLabels, durationSchema, stringMapSchema } from "./istio-fields.ts";
import { parseFilterExpression, parseValueExpression } from "./telemetry-expression.ts";

/**
 * `telemetry.istio.io` Telemetry spec (https://istio.io/latest/docs/reference/config/telemetry/),
 * plus three Jibe extensions on a `metrics` entry that Istio users asked for in vain:
 * `histogramBuckets` (per-metric bucket boundaries), `metricExpiry` (drop series idle that long)
 * and `hostHeaderFallback: false` (never label `destination_service` with a raw Host header).
 *
 * @example
 * ```yaml
 * apiVersion: telemetry.istio.io/v1
 * kind: Telemetry
 * metadata: { name: reviews, namespace: default }
 * spec:
 *   selector: { matchLabels: { app: reviews } }
 *   tracing: [{ randomSamplingPercentage: 10 }]
 *   metrics:
 *   - overrides: [{ match: { metric: REQUEST_COUNT }, tagOverrides: { request_protocol: { operation: REMOVE } } }]
 *     histogramBuckets: { REQUEST_DURATION: [1, 5, 25, 100, 500, 2500] }
 *     metricExpiry: 10m
 *     hostHeaderFallback: false
 * ```
 */

/** Istio's metric selectors (`MetricSelector.IstioMetric`). */
export const ISTIO_METRICS = [
  "ALL_METRICS",
  "REQUEST_COUNT",
  "REQUEST_DURATION",
  "REQUEST_SIZE",
  "RESPONSE_SIZE",
  "TCP_OPENED_CONNECTIONS",
  "TCP_CLOSED_CONNECTIONS",
  "TCP_SENT_BYTES",
  "TCP_RECEIVED_BYTES",
  "GRPC_REQUEST_MESSAGES",
  "GRPC_RESPONSE_MESSAGES",
] as const;

/** Histogram metrics whose buckets can be configured. */
export const HISTOGRAM_METRICS = ["REQUEST_DURATION", "REQUEST_SIZE", "RESPONSE_SIZE"] as const;

/** Istio `WorkloadMode`: CLIENT = the source proxy reports, SERVER = the destination proxy. */
export const WORKLOAD_MODES = ["CLIENT", "SERVER", "CLIENT_AND_SERVER"] as const;

const providerSchema = z.strictObject({ name: z.string() });
const modeMatchSchema = z.strictObject({ mode: z.enum(WORKLOAD_MODES).optional() });
const MAX_BUCKETS = 64;

const tagOverrideSchema = z.strictObject({
  operation: z.enum(["UPSERT", "REMOVE"]).optional(),
  value: z.string().optional(),
});

const metricsOverrideSchema = z.strictObject({
  match: z
    .strictObject({
      metric: z.enum(ISTIO_METRICS).optional(),
      customMetric: z.string().optional(),
      mode: z.enum(WORKLOAD_MODES).optional(),
    })
    .optional(),
  disabled: z.boolean().optional(),
  tagOverrides: z.record(z.string(), tagOverrideSchema).optional(),
});

const customTagSchema = z.strictObject({
  literal: z.strictObject({ value: z.string() }).optional(),
  environment: z.strictObject({ name: z.string(), defaultValue: z.string().optional() }).optional(),
  header: z.strictObject({ name: z.string(), defaultValue: z.string().optional() }).optional(),
});

export const telemetrySpecSchema = z.strictObject({
  selector: z.strictObject({ matchLabels: stringMapSchema.optional() }).optional(),
  targetRef: z.record(z.string(), z.unknown()).optional(),
  targetRefs: z.array(z.record(z.string(), z.unknown())).optional(),
  tracing: z
    .array(
      z.strictObject({
        match: modeMatchSchema.optional(),
        providers: z.array(providerSchema).optional(),
        customTags: z.record(z.string(), customTagSchema).optional(),
        disableSpanReporting: z.boolean().optional(),
        randomSamplingPercentage: z.number().optional(),
        useRequestIdForTraceSampling: z.boolean().optional(),
        enableIstioTags: z.boolean().optional(),
      }),
    )
    .optional(),
  metrics: z
    .array(
      z.strictObject({
        providers: z.array(providerSchema).optional(),
        overrides: z.array(metricsOverrideSchema).optional(),
        reportingInterval: durationSchema.optional(),
        histogramBuckets: z.partialRecord(z.enum(HISTOGRAM_METRICS), z.array(z.number())).optional(),
        metricExpiry: durationSchema.optional(),
        hostHeaderFallback: z.boolean().optional(),
      }),
    )
    .optional(),
  accessLogging: z
    .array(
      z.strictObject({
        match: modeMatchSchema.optional(),
        providers: z.array(providerSchema).optional(),
        disabled: z.boolean().optional(),
        filter: z.strictObject({ expression: z.string() }).optional(),
      }),
    )
    .optional(),
});

/** A validated Telemetry spec. */
export type TelemetrySpec = z.infer<typeof telemetrySpecSchema>;

const LABEL_NAME = /^[a-zA-Z_][a-zA-Z0-9_]*$/;

/** What zod cannot say about a Telemetry spec: label names, expressions, buckets, percentages. */
export function checkTelemetry(spec: TelemetrySpec, report: Reporter): void {
  checkLabels(spec.selector?.matchLabels, ["spec", "selector", "matchLabels"], report);
  if (spec.targetRef !== undefined || spec.targetRefs !== undefined)
    report.warn(
      "JIBE1013",
      ["spec", spec.targetRef !== undefined ? "targetRef" : "targetRefs"],
      "targetRef(s) are accepted but not applied by Jibe proxies yet; use selector to pick workloads",
    );
  spec.tracing?.forEach((tracing, i) => {
    const pct = tracing.randomSamplingPercentage;
    if (pct !== undefined && !(pct >= 0 && pct <= 100))
      report.error(
        "JIBE1013",
        ["spec", "tracing", i, "randomSamplingPercentage"],
        `randomSamplingPercentage ${pct} is out of range; use a number from 0 to 100`,
      );
  });
  spec.metrics?.forEach((metrics, i) => {
    const at = (...rest: PathSegment[]): PathSegment[] => ["spec", "metrics", i, ...rest];
    if (metrics.reportingInterval !== undefined)
      checkDuration(metrics.reportingInterval, at("reportingInterval"), report);
    if (metrics.metricExpiry !== undefined) checkDuration(metrics.metricExpiry, at("metricExpiry"), report);
    for (const [metric, buckets] of Object.entries(metrics.histogramBuckets ?? {}))
      checkBuckets(buckets, at("histogramBuckets", metric), report);
    metrics.overrides?.forEach((override, j) => {
      if (override.match?.metric !== undefined && override.match.customMetric !== undefined)
        report.error("JIBE1013", at("overrides", j, "match"), "set either metric or customMetric, not both");
      for (const [tag, change] of Object.entries(override.tagOverrides ?? {}))
        checkTagOverride(tag, change, at("overrides", j, "tagOverrides", tag), report);
    });
  });
  spec.accessLogging?.forEach((logging, i) => {
    if (logging.filter === undefined) return;
    const parsed = parseFilterExpression(logging.filter.expression);
    if (!parsed.ok)
      report.error("JIBE1013", ["spec", "accessLogging", i, "filter", "expression"], parsed.problem);
  });
}

function checkBuckets(buckets: readonly number[], path: PathSegment[], report: Reporter): void {
  if (buckets.length === 0 || buckets.length > MAX_BUCKETS) {
    report.error("JIBE1013", path, `give 1 to ${MAX_BUCKETS} bucket boundaries (found ${buckets.length})`);
    return;
  }
  buckets.forEach((bound, k) => {
    if (!Number.isFinite(bound) || bound <= 0)
      report.error("JIBE1013", [...path, k], `bucket boundary ${bound} must be a positive number`);
    else if (k > 0 && bound <= (buckets[k - 1] ?? 0))
      report.error(
        "JIBE1013",
        [...path, k],
        `bucket boundaries must increase strictly; ${bound} follows ${buckets[k - 1]}`,
      );
  });
}

function checkTagOverride(
  tag: string,
  change: { operation?: "UPSERT" | "REMOVE"; value?: string },
  path: PathSegment[],
  report: Reporter,
): void {
  if (!LABEL_NAME.test(tag) || tag.startsWith("__") || tag === "le")
    report.error(
      "JIBE1013",
      path,
      `"${tag}" is not a usable Prometheus label name; use letters, digits and _ (not starting with a digit or __, not "le")`,
    );
  if (change.operation === "REMOVE") {
    if (change.value !== undefined)
      report.error("JIBE1013", [...path, "value"], "a REMOVE override takes no value; delete value");
    return;
  }
  if (change.value === undefined) {
    report.error(
      "JIBE1012",
      [...path, "value"],
      "an UPSERT override needs a value, e.g. value: request.host, or use operation: REMOVE",
    );
    return;
  }
  const parsed = parseValueExpression(change.value);
  if (!parsed.ok) report.error("JIBE1013", [...path, "value"], parsed.problem);
}
