import type { NatsConnection } from "@nats-io/nats-core";
import type { Logger } from "../../broker/logger.ts";
import {
  createMetricAggregate,
  HTTP_METRIC_NAMES,
  type MetricAggregate,
  TELEMETRY_SUBJECT_PREFIX,
} from "../../workers/telemetry/index.ts";

/** Help texts of the metrics edge proxies push (Istio's standard HTTP metrics). */
const HELP: Readonly<Record<string, string>> = {
  [HTTP_METRIC_NAMES.REQUEST_COUNT]: "Requests handled by this proxy (Istio standard metric).",
  [HTTP_METRIC_NAMES.REQUEST_DURATION]:
    "Request duration in milliseconds, request start to response end (Istio standard metric).",
  [HTTP_METRIC_NAMES.REQUEST_SIZE]: "HTTP request body size in bytes (Istio standard metric).",
  [HTTP_METRIC_NAMES.RESPONSE_SIZE]: "HTTP response body size in bytes (Istio standard metric).",
};

/** The pushed metrics the control plane collects. */
export interface EdgeMetrics {
  readonly aggregate: MetricAggregate;
  /** Batches accepted and refused (malformed) so far. */
  readonly stats: { batches: number; rejected: number };
  stop(): void;
}

/**
 * Collects the metric batches proxies push over NATS (`jibe.telemetry.v1.metrics.>`, the edge
 * worker, which cannot be scraped) and adds them up, for the control plane's `/stats/prometheus`.
 * Batches are validated at this bus edge; malformed ones are counted and dropped.
 *
 * @example
 * ```ts
 * const edge = collectEdgeMetrics(nc, log);
 * app.get("/stats/prometheus", (c) => c.text(edge.aggregate.text()));
 * ```
 */
export function collectEdgeMetrics(
  nc: NatsConnection,
  log?: Logger,
  clock: () => number = Date.now,
): EdgeMetrics {
  const aggregate = createMetricAggregate({ clock, help: HELP });
  const stats = { batches: 0, rejected: 0 };
  const sub = nc.subscribe(`${TELEMETRY_SUBJECT_PREFIX}.metrics.>`);
  void (async () => {
    for await (const message of sub) {
      let parsed: unknown;
      try {
        parsed = message.json();
      } catch {
        parsed = undefined;
      }
      if (aggregate.add(parsed)) stats.batches += 1;
      else {
        stats.rejected += 1;
        log?.warn(`edge metrics: dropped a malformed batch on ${message.subject}`);
      }
    }
  })().catch((error: unknown) => log?.warn(`edge metrics: subscription ended: ${String(error)}`));
  return { aggregate, stats, stop: () => sub.unsubscribe() };
}
