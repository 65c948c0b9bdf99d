import { ISTIO_LABEL_NAMES, istioLabels, type RequestRecord, recordAttributes } from "../telemetry/index.ts";
import type { MetricDefinition, MetricSeries } from "./metric-series.ts";

/** Istio's gRPC message counters (the grpc_stats filter's), with the standard Istio labels. */
export const GRPC_MESSAGE_METRICS: readonly MetricDefinition[] = [
  {
    metric: "GRPC_REQUEST_MESSAGES",
    name: "istio_request_messages_total",
    help: "gRPC messages sent by clients (Istio standard metric).",
    labelNames: ISTIO_LABEL_NAMES,
  },
  {
    metric: "GRPC_RESPONSE_MESSAGES",
    name: "istio_response_messages_total",
    help: "gRPC messages sent by servers (Istio standard metric).",
    labelNames: ISTIO_LABEL_NAMES,
  },
];

/**
 * Adds a completed gRPC request's messages per stream direction to `series` (created over
 * {@link GRPC_MESSAGE_METRICS}); records of other requests are ignored, so series appear with the
 * first gRPC request. Tag overrides and idle expiry apply as to the HTTP metrics.
 *
 * @example
 * ```ts
 * recordGrpcMessages(series, record); // record.grpcMessages = { request: 3, response: 1 }
 * ```
 */
export function recordGrpcMessages(
  series: MetricSeries,
  record: RequestRecord,
  labelsOf: (record: RequestRecord) => Readonly<Record<string, string>> = istioLabels,
): void {
  if (!record.grpcMessages) return;
  const base = labelsOf(record);
  const attributes = recordAttributes(record);
  series.series("GRPC_REQUEST_MESSAGES", record.reporter, base, attributes)?.add(record.grpcMessages.request);
  series
    .series("GRPC_RESPONSE_MESSAGES", record.reporter, base, attributes)
    ?.add(record.grpcMessages.response);
}
