import { Counter, Registry } from "prom-client";
import {
  TCP_LABEL_NAMES,
  TCP_METRIC_NAMES,
  type TcpConnectionRecord,
  tcpLabels,
} from "../telemetry/index.ts";

/** Counts one proxied connection; `bytes` as they flow, `close` once. */
export interface TcpConnectionMetrics {
  /** Bytes from the client towards the server (Istio's "received during request"). */
  received(bytes: number): void;
  /** Bytes from the server back to the client (Istio's "sent during response"). */
  sent(bytes: number): void;
  /** Counts the close (once). */
  close(): void;
}

/** Istio's TCP metrics of one sidecar, in a registry of their own. */
export interface TcpMetrics {
  /** Counts an opened connection and returns its byte and close counters. */
  open(record: TcpConnectionRecord): TcpConnectionMetrics;
  /** The Prometheus text exposition. */
  text(): Promise<string>;
}

const HELP = {
  opened: "TCP connections opened through this proxy (Istio standard metric).",
  closed: "TCP connections closed through this proxy (Istio standard metric).",
  sent: "Bytes sent to the client during TCP connections (Istio standard metric).",
  received: "Bytes received from the client during TCP connections (Istio standard metric).",
} as const;

/**
 * Creates `istio_tcp_connections_opened_total`, `istio_tcp_connections_closed_total`,
 * `istio_tcp_sent_bytes_total` and `istio_tcp_received_bytes_total` with Istio's labels
 * (`request_protocol="tcp"`). Telemetry tag overrides and series expiry apply to HTTP metrics only.
 *
 * @example
 * ```ts
 * const conn = tcpMetrics.open(record);
 * socket.on("data", (chunk) => conn.received(chunk.length));
 * socket.once("close", () => conn.close());
 * ```
 */
export function createTcpMetrics(): TcpMetrics {
  const registry = new Registry();
  const counter = (key: keyof typeof TCP_METRIC_NAMES) =>
    new Counter({
      name: TCP_METRIC_NAMES[key],
      help: HELP[key],
      labelNames: [...TCP_LABEL_NAMES],
      registers: [registry],
    });
  const opened = counter("opened");
  const closed = counter("closed");
  const sent = counter("sent");
  const received = counter("received");
  return {
    open(record) {
      const labels = tcpLabels(record);
      opened.inc(labels);
      let done = false;
      return {
        received: (bytes) => received.inc(labels, bytes),
        sent: (bytes) => sent.inc(labels, bytes),
        close() {
          if (done) return;
          done = true;
          closed.inc(labels);
        },
      };
    },
    text: () => registry.metrics(),
  };
}
