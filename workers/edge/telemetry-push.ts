import type { StoredResource } from "../../broker/events.ts";
import type { ProxyIdentity } from "../../control/compile/snapshot.ts";
import {
  createMetricBatcher,
  encodePeerHeader,
  HTTP_METRIC_NAMES,
  type HttpMetric,
  istioLabels,
  type MeshTelemetryDefaults,
  type MetricBatch,
  type MetricPlan,
  metricBatchSubject,
  metricLabels,
  otlpTraceRequest,
  planMetrics,
  type RequestRecord,
  recordAttributes,
  resolveTelemetryPolicy,
  type TelemetryPolicy,
  type WorkloadMetadata,
  workloadMetadataOf,
} from "../telemetry/index.ts";
import type { EdgeTelemetrySettings } from "./edge-telemetry.ts";

/** The edge's telemetry vars (wrangler `vars`), read by {@link readEdgeTelemetryVars}. */
export interface EdgeTelemetryVars {
  /** Trace sampling percentage for requests arriving without a decision; default 1 (Istio's). */
  JIBE_TRACE_SAMPLING?: string;
  /** OTLP/HTTP traces endpoint, e.g. `http://127.0.0.1:4318/v1/traces`; unset = no span export. */
  JIBE_OTLP_ENDPOINT?: string;
  /** Istio cluster id for `source_cluster`; default `Kubernetes`. */
  JIBE_CLUSTER_ID?: string;
  /** How often metric deltas and spans are sent; default 1000 ms. */
  JIBE_TELEMETRY_FLUSH_MS?: string;
}

/** Telemetry settings of the edge; bad values are reported and replaced by the defaults (traffic is not blocked). */
export interface EdgeTelemetryConfig {
  mesh: MeshTelemetryDefaults;
  otlpEndpoint?: string;
  clusterId?: string;
  flushMs: number;
  problems: string[];
}

/**
 * Reads the edge's telemetry vars.
 *
 * @example
 * ```ts
 * readEdgeTelemetryVars({ JIBE_TRACE_SAMPLING: "100", JIBE_OTLP_ENDPOINT: "http://127.0.0.1:4318/v1/traces" });
 * // { mesh: { samplingPercentage: 100 }, otlpEndpoint: "http://…", flushMs: 1000, problems: [] }
 * ```
 */
export function readEdgeTelemetryVars(vars: EdgeTelemetryVars): EdgeTelemetryConfig {
  const problems: string[] = [];
  const mesh: MeshTelemetryDefaults = {};
  const sampling = vars.JIBE_TRACE_SAMPLING?.trim();
  if (sampling) {
    const pct = Number(sampling);
    if (pct >= 0 && pct <= 100) mesh.samplingPercentage = pct;
    else problems.push(`JIBE_TRACE_SAMPLING: "${sampling}" is not a percentage; use a number from 0 to 100`);
  }
  let otlpEndpoint = vars.JIBE_OTLP_ENDPOINT?.trim() || undefined;
  if (otlpEndpoint && !(/^https?:\/\//.test(otlpEndpoint) && URL.canParse(otlpEndpoint))) {
    problems.push(
      `JIBE_OTLP_ENDPOINT: "${otlpEndpoint}" is not an http(s) URL; use e.g. http://127.0.0.1:4318/v1/traces`,
    );
    otlpEndpoint = undefined;
  }
  let flushMs = 1000;
  const flush = vars.JIBE_TELEMETRY_FLUSH_MS?.trim();
  if (flush) {
    if (Number(flush) >= 10) flushMs = Number(flush);
    else problems.push(`JIBE_TELEMETRY_FLUSH_MS: "${flush}" must be milliseconds >= 10`);
  }
  const clusterId = vars.JIBE_CLUSTER_ID?.trim() || undefined;
  return {
    mesh,
    flushMs,
    problems,
    ...(otlpEndpoint ? { otlpEndpoint } : {}),
    ...(clusterId ? { clusterId } : {}),
  };
}

/** Options of {@link createTelemetryReporter}. */
export interface TelemetryReporterOptions {
  proxy: ProxyIdentity;
  /** Mesh defaults from the vars (sampling, host fallback, ...); Telemetry resources refine them. */
  mesh: MeshTelemetryDefaults;
  clusterId?: string;
  /** OTLP/HTTP traces endpoint; without it spans are not exported (headers still propagate). */
  otlpEndpoint?: string;
  /** The resources the holder synced, undefined before the first sync. */
  resources(): ReadonlyMap<string, StoredResource> | undefined;
  /** Publishes on NATS; false when not connected (the batch is dropped). */
  publish(subject: string, data: string): boolean;
  fetch(url: string, init: RequestInit): Promise<Response>;
  clock(): number;
  log: Pick<Console, "warn">;
}

/** The edge's telemetry sink, living in the policy holder. */
export interface TelemetryReporter {
  /** What workers need per request (sampling, host fallback, the edge's identity). */
  settings(): EdgeTelemetrySettings;
  /** Adds one completed request: metric deltas, and its span when sampled. */
  report(record: RequestRecord): void;
  /** True when something waits for {@link TelemetryReporter.flush}. */
  pending(): boolean;
  /** Publishes the metric batch on the bus and posts the spans to the OTLP endpoint. */
  flush(): Promise<void>;
  readonly stats: { batches: number; dropped: number; spans: number; spanErrors: number };
}

const METRICS: readonly HttpMetric[] = ["REQUEST_COUNT", "REQUEST_DURATION", "REQUEST_SIZE", "RESPONSE_SIZE"];

/**
 * Creates the edge's reporter. The edge cannot be scraped (workerd has no listener for Prometheus
 * and isolates come and go), so its Istio metrics are **pushed**: deltas per series, batched, on
 * `jibe.telemetry.v1.metrics.<proxy>`; the control plane adds them up and serves them on its
 * `/stats/prometheus`. Spans go to the OTLP/HTTP endpoint as JSON (no OpenTelemetry SDK in workerd).
 *
 * @example
 * ```ts
 * const reporter = createTelemetryReporter({ proxy, mesh: {}, resources, publish, fetch, clock: Date.now, log: console });
 * reporter.report(record);
 * await reporter.flush();
 * ```
 */
export function createTelemetryReporter(options: TelemetryReporterOptions): TelemetryReporter {
  const self: WorkloadMetadata = workloadMetadataOf(
    {
      ...options.proxy,
      id: `gateway~jibe-edge~${options.proxy.namespace}`,
      labels: { app: "jibe-edge", ...options.proxy.labels },
    },
    options.clusterId,
  );
  const peerHeader = encodePeerHeader(self);
  const batcher = createMetricBatcher();
  let spans: RequestRecord[] = [];
  const stats = { batches: 0, dropped: 0, spans: 0, spanErrors: 0 };

  let resolved:
    | {
        resources: ReadonlyMap<string, StoredResource> | undefined;
        policy: TelemetryPolicy;
        plans: Record<HttpMetric, MetricPlan>;
      }
    | undefined;
  const policy = () => {
    const resources = options.resources();
    if (!resolved || resolved.resources !== resources) {
      const current = resolveTelemetryPolicy(resources?.values() ?? [], options.proxy, options.mesh);
      resolved = { resources, policy: current, plans: planMetrics(current) };
    }
    return resolved;
  };

  return {
    stats,
    settings() {
      const { policy: current } = policy();
      return {
        self,
        peerHeader,
        samplingPercentage: current.tracing.source.samplingPercentage,
        hostHeaderFallback: current.metrics.hostHeaderFallback,
      };
    },
    report(record) {
      const { policy: current, plans } = policy();
      const base = istioLabels(record);
      const attributes = recordAttributes(record);
      const values: Record<HttpMetric, number> = {
        REQUEST_COUNT: 1,
        REQUEST_DURATION: record.durationMs,
        REQUEST_SIZE: record.requestBytes,
        RESPONSE_SIZE: record.responseBytes,
      };
      for (const metric of METRICS) {
        const plan = plans[metric];
        if (!plan.reporters.source.enabled) continue;
        const labels = metricLabels(plan, "source", base, attributes);
        if (plan.buckets) batcher.observe(HTTP_METRIC_NAMES[metric], labels, plan.buckets, values[metric]);
        else batcher.count(HTTP_METRIC_NAMES[metric], labels, values[metric]);
      }
      const tracing = current.tracing.source;
      if (record.trace?.sampled && tracing.reportSpans && options.otlpEndpoint) spans.push(record);
    },
    pending: () => !batcher.empty() || spans.length > 0,
    async flush() {
      const { policy: current } = policy();
      if (!batcher.empty()) {
        const batch: MetricBatch = {
          v: 1,
          proxy: options.proxy.id,
          at: options.clock(),
          ...(current.metrics.expiryMs === undefined ? {} : { expiryMs: current.metrics.expiryMs }),
          series: batcher.drain(),
        };
        if (options.publish(metricBatchSubject(options.proxy.id), JSON.stringify(batch))) stats.batches += 1;
        else stats.dropped += batch.series.length;
      }
      if (spans.length > 0 && options.otlpEndpoint) {
        const sending = spans;
        spans = [];
        const body = otlpTraceRequest(
          sending,
          {
            "service.name": `${self.canonicalService}.${self.namespace}`,
            "service.instance.id": options.proxy.id,
          },
          options.proxy.id,
        );
        try {
          const response = await options.fetch(options.otlpEndpoint, {
            method: "POST",
            headers: { "content-type": "application/json" },
            body: JSON.stringify(body),
          });
          await response.body?.cancel();
          if (response.ok) stats.spans += sending.length;
          else throw new Error(`HTTP ${response.status}`);
        } catch (error) {
          stats.spanErrors += sending.length;
          options.log.warn(`jibe edge: exporting ${sending.length} spans failed: ${String(error)}`);
        }
      }
    },
  };
}
