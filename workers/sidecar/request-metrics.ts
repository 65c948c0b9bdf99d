import {
  HTTP_METRIC_NAMES,
  type HttpMetric,
  ISTIO_LABEL_NAMES,
  istioLabels,
  type RequestRecord,
  recordAttributes,
} from "../telemetry/index.ts";
import type { MetricDefinition, MetricSeries } from "./metric-series.ts";

const HELP: Readonly<Record<HttpMetric, string>> = {
  REQUEST_COUNT: "Requests handled by this proxy (Istio standard metric).",
  REQUEST_DURATION:
    "Request duration in milliseconds, request start to response end (Istio standard metric).",
  REQUEST_SIZE: "HTTP request body size in bytes (Istio standard metric).",
  RESPONSE_SIZE: "HTTP response body size in bytes (Istio standard metric).",
};

const METRICS: readonly HttpMetric[] = ["REQUEST_COUNT", "REQUEST_DURATION", "REQUEST_SIZE", "RESPONSE_SIZE"];

/** `istio_requests_total`, `istio_request_duration_milliseconds`, `istio_request_bytes`, `istio_response_bytes`. */
export const REQUEST_METRICS: readonly MetricDefinition[] = METRICS.map((metric) => ({
  metric,
  name: HTTP_METRIC_NAMES[metric],
  help: HELP[metric],
  labelNames: ISTIO_LABEL_NAMES,
}));

/**
 * Records one completed request in Istio's four HTTP metrics of `series` (created over
 * {@link REQUEST_METRICS}), with Istio's labels (`labelsOf`, default `istioLabels`) and the
 * policy's tag overrides.
 *
 * @example
 * ```ts
 * const series = createMetricSeries([...REQUEST_METRICS], Date.now);
 * recordRequestMetrics(series, record, createIstioLabelCache()); // labels shared by alike records
 * ```
 */
export function recordRequestMetrics(
  series: MetricSeries,
  record: RequestRecord,
  labelsOf: (record: RequestRecord) => Readonly<Record<string, string>> = istioLabels,
): void {
  const base = labelsOf(record);
  const attributes = recordAttributes(record);
  const values: Record<HttpMetric, number> = {
    REQUEST_COUNT: 1,
    REQUEST_DURATION: record.durationMs,
    REQUEST_SIZE: record.requestBytes,
    RESPONSE_SIZE: record.responseBytes,
  };
  for (const metric of METRICS) series.series(metric, record.reporter, base, attributes)?.add(values[metric]);
}
