import { ROOT_CONTEXT, SpanKind, SpanStatusCode, TraceFlags, trace } from "@opentelemetry/api";
import { OTLPTraceExporter } from "@opentelemetry/exporter-trace-otlp-http";
import { resourceFromAttributes } from "@opentelemetry/resources";
import {
  AlwaysOnSampler,
  BasicTracerProvider,
  BatchSpanProcessor,
  type IdGenerator,
} from "@opentelemetry/sdk-trace-base";
import type { Logger } from "../../broker/logger.ts";
import { type RequestRecord, spanAttributes, spanName, type WorkloadMetadata } from "../telemetry/index.ts";

/** A mesh tracing provider (Istio's `extensionProviders` entry): where spans go. */
export interface TracingProvider {
  /** OTLP/HTTP traces endpoint, e.g. `http://127.0.0.1:4318/v1/traces`. */
  otlpHttpEndpoint: string;
}

/** Options of {@link createSpanExport}. */
export interface SpanExportOptions {
  providers: Readonly<Record<string, TracingProvider>>;
  /** Provider used when the Telemetry names none; default: the only one, if exactly one. */
  defaultProvider?: string;
  /**
   * Providers of the mesh config (ConfigMap `istio-system/istio`, read at each export so a change
   * applies); the options' own `providers` win on a name clash, their default over the mesh's.
   */
  meshProviders?: () => { providers: Readonly<Record<string, TracingProvider>>; defaultProvider?: string };
  self: WorkloadMetadata;
  proxyId: string;
  /** How long the batch waits before sending; default 1 s. */
  exportDelayMs?: number;
  log: Logger;
}

/** Exports one span per sampled request hop. */
export interface SpanExport {
  /** Sends the span of a completed, sampled request to the named (or default) provider. */
  export(record: RequestRecord, provider: string | undefined): void;
  flush(): Promise<void>;
  shutdown(): Promise<void>;
}

/**
 * Creates the span exporter of a sidecar: per provider one OpenTelemetry tracer (never the global
 * one) with a batching OTLP/HTTP exporter. Span and trace ids are the ones the trace-context code
 * already put in the headers, so the next hop's span links to this one.
 *
 * @example
 * ```ts
 * const spans = createSpanExport({ providers: { otel: { otlpHttpEndpoint } }, self, proxyId, log });
 * if (record.trace?.sampled) spans.export(record, undefined);
 * ```
 */
export function createSpanExport(options: SpanExportOptions): SpanExport {
  const names = Object.keys(options.providers);
  const fallback = options.defaultProvider ?? (names.length === 1 ? names[0] : undefined);
  // The tracer asks its IdGenerator for the ids of the span being started; handing it the ids
  // chosen for the headers keeps the exported span and the propagated context the same span.
  const next = { traceId: "", spanId: "" };
  const ids: IdGenerator = { generateTraceId: () => next.traceId, generateSpanId: () => next.spanId };
  const tracers = new Map<
    string,
    { provider: BasicTracerProvider; tracer: ReturnType<BasicTracerProvider["getTracer"]> }
  >();
  const warned = new Set<string>();

  const tracerFor = (name: string, mesh: ReturnType<NonNullable<SpanExportOptions["meshProviders"]>>) => {
    const config = options.providers[name] ?? mesh.providers[name];
    // Keyed by endpoint too: a provider the mesh config moves gets a new exporter.
    const key = `${name}|${config?.otlpHttpEndpoint ?? ""}`;
    const existing = tracers.get(key);
    if (existing) return existing.tracer;
    if (!config) {
      if (!warned.has(name))
        options.log.warn(`sidecar ${options.proxyId}: no tracing provider "${name}"; spans dropped`);
      warned.add(name);
      return undefined;
    }
    const provider = new BasicTracerProvider({
      sampler: new AlwaysOnSampler(),
      idGenerator: ids,
      resource: resourceFromAttributes({
        "service.name": `${options.self.canonicalService}.${options.self.namespace}`,
        "service.instance.id": options.proxyId,
      }),
      spanProcessors: [
        new BatchSpanProcessor(new OTLPTraceExporter({ url: config.otlpHttpEndpoint }), {
          scheduledDelayMillis: options.exportDelayMs ?? 1000,
        }),
      ],
    });
    const tracer = provider.getTracer("jibe-sidecar");
    tracers.set(key, { provider, tracer });
    return tracer;
  };

  return {
    export(record, providerName) {
      const context = record.trace;
      if (!context) return;
      const mesh = options.meshProviders?.() ?? { providers: {} };
      const meshNames = Object.keys(mesh.providers);
      const name =
        providerName ??
        fallback ??
        mesh.defaultProvider ??
        (names.length === 0 && meshNames.length === 1 ? meshNames[0] : undefined);
      if (name === undefined) return;
      const tracer = tracerFor(name, mesh);
      if (!tracer) return;
      const parent = context.parentSpanId
        ? trace.setSpanContext(ROOT_CONTEXT, {
            traceId: context.traceId,
            spanId: context.parentSpanId,
            traceFlags: TraceFlags.SAMPLED,
            isRemote: true,
          })
        : ROOT_CONTEXT;
      next.traceId = context.traceId;
      next.spanId = context.spanId;
      const span = tracer.startSpan(
        spanName(record),
        {
          kind: record.reporter === "source" ? SpanKind.CLIENT : SpanKind.SERVER,
          startTime: record.startMs,
          attributes: spanAttributes(record, options.proxyId),
        },
        parent,
      );
      if (record.responseCode === 0 || record.responseCode >= 500)
        span.setStatus({ code: SpanStatusCode.ERROR });
      span.end(record.startMs + record.durationMs);
    },
    async flush() {
      await Promise.all([...tracers.values()].map(({ provider }) => provider.forceFlush()));
    },
    async shutdown() {
      await Promise.all([...tracers.values()].map(({ provider }) => provider.shutdown()));
    },
  };
}
