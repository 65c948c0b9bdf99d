import {
  TCP_LABEL_NAMES,
  TCP_METRIC_NAMES,
  type TcpConnectionRecord,
  tcpAttributes,
  tcpLabels,
} from "../telemetry/index.ts";
import type { MetricDefinition, MetricSeries } from "./metric-series.ts";

/** Counts one proxied connection; `bytes` as they flow, `close` once. */
export interface TcpConnectionMetrics {
  /** Bytes from the client towards the server (Istio's "received during request"). */
  received(bytes: number): void;
  /** Bytes from the server back to the client (Istio's "sent during response"). */
  sent(bytes: number): void;
  /** Counts the close (once). */
  close(): void;
}

/** Istio's TCP metrics of one sidecar. */
export interface TcpMetrics {
  /** Counts an opened connection and returns its byte and close counters. */
  open(record: TcpConnectionRecord): TcpConnectionMetrics;
}

/**
 * `istio_tcp_connections_opened_total`, `istio_tcp_connections_closed_total`,
 * `istio_tcp_sent_bytes_total` and `istio_tcp_received_bytes_total`.
 */
export const TCP_METRICS: readonly MetricDefinition[] = [
  {
    metric: "TCP_OPENED_CONNECTIONS",
    name: TCP_METRIC_NAMES.opened,
    help: "TCP connections opened through this proxy (Istio standard metric).",
    labelNames: TCP_LABEL_NAMES,
  },
  {
    metric: "TCP_CLOSED_CONNECTIONS",
    name: TCP_METRIC_NAMES.closed,
    help: "TCP connections closed through this proxy (Istio standard metric).",
    labelNames: TCP_LABEL_NAMES,
  },
  {
    metric: "TCP_SENT_BYTES",
    name: TCP_METRIC_NAMES.sent,
    help: "Bytes sent to the client during TCP connections (Istio standard metric).",
    labelNames: TCP_LABEL_NAMES,
  },
  {
    metric: "TCP_RECEIVED_BYTES",
    name: TCP_METRIC_NAMES.received,
    help: "Bytes received from the client during TCP connections (Istio standard metric).",
    labelNames: TCP_LABEL_NAMES,
  },
];

/**
 * Creates the TCP recorder over `series` (created over {@link TCP_METRICS} and configured with the
 * policy in force before each connection: `policy` is called at open). Istio's labels
 * (`request_protocol="tcp"`), the Telemetry tag overrides, disabled reporters and idle-series
 * expiry apply as to the HTTP metrics; labels are resolved once per connection.
 *
 * @example
 * ```ts
 * const conn = createTcpMetrics(series, telemetry.policy).open(record);
 * socket.on("data", (chunk) => conn.received(chunk.length));
 * socket.once("close", () => conn.close());
 * ```
 */
export function createTcpMetrics(series: MetricSeries, policy: () => unknown): TcpMetrics {
  return {
    open(record) {
      policy();
      const labels = tcpLabels(record);
      const attributes = tcpAttributes(record);
      const of = (metric: MetricDefinition["metric"]) =>
        series.series(metric, record.reporter, labels, attributes);
      of("TCP_OPENED_CONNECTIONS")?.add(1);
      const received = of("TCP_RECEIVED_BYTES");
      const sent = of("TCP_SENT_BYTES");
      let done = false;
      return {
        received: (bytes) => received?.add(bytes),
        sent: (bytes) => sent?.add(bytes),
        close() {
          if (done) return;
          done = true;
          of("TCP_CLOSED_CONNECTIONS")?.add(1);
        },
      };
    },
  };
}
