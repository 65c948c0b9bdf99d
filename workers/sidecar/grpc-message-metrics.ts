import { Counter, Registry } from "prom-client";
import { ISTIO_LABEL_NAMES, istioLabels, type RequestRecord } from "../telemetry/index.ts";

/** Istio's gRPC message counters of one sidecar (the grpc_stats filter's), in a registry of their own. */
export interface GrpcMessageMetrics {
  /** Adds a completed gRPC request's messages; records of other requests are ignored. */
  record(record: RequestRecord): void;
  text(): Promise<string>;
}

/**
 * Creates `istio_request_messages_total` and `istio_response_messages_total`: gRPC messages per
 * stream direction, with the standard Istio labels. Series appear with the first gRPC request.
 * Telemetry tag overrides and series expiry apply to the four HTTP metrics only.
 *
 * @example
 * ```ts
 * const grpc = createGrpcMessageMetrics();
 * grpc.record(record); // record.grpcMessages = { request: 3, response: 1 }
 * ```
 */
export function createGrpcMessageMetrics(): GrpcMessageMetrics {
  const registry = new Registry();
  const counter = (name: string, help: string) =>
    new Counter({ name, help, labelNames: [...ISTIO_LABEL_NAMES], registers: [registry] });
  const requests = counter(
    "istio_request_messages_total",
    "gRPC messages sent by clients (Istio standard metric).",
  );
  const responses = counter(
    "istio_response_messages_total",
    "gRPC messages sent by servers (Istio standard metric).",
  );
  return {
    record(record) {
      if (!record.grpcMessages) return;
      const labels = istioLabels(record);
      requests.inc(labels, record.grpcMessages.request);
      responses.inc(labels, record.grpcMessages.response);
    },
    text: () => registry.metrics(),
  };
}
