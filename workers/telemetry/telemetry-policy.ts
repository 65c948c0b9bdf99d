import type { StoredResource } from "../../broker/events.ts";
import type { ProxyIdentity } from "../../control/compile/snapshot.ts";
import { parseDurationMs } from "../../control/model/duration.ts";
import { ROOT_NAMESPACE } from "../../control/model/policy-target.ts";
import type { HISTOGRAM_METRICS, ISTIO_METRICS, TelemetrySpec } from "../../control/model/telemetry.ts";
import {
  type FilterExpression,
  parseFilterExpression,
  parseValueExpression,
  type ValueExpression,
} from "../../control/model/telemetry-expression.ts";
import { validateResource } from "../../control/model/validate.ts";
import type { Reporter } from "./request-record.ts";

/** A histogram whose buckets can be configured. */
export type HistogramMetric = (typeof HISTOGRAM_METRICS)[number];

/** Envoy's default histogram bucket boundaries (milliseconds for durations), which Istio inherits. */
export const ENVOY_DEFAULT_BUCKETS: readonly number[] = [
  0.5, 1, 5, 10, 25, 50, 100, 250, 500, 1000, 2500, 5000, 10000, 30000, 60000, 300000, 600000, 1800000,
  3600000,
];

/** One tag change of a metrics override. */
export type TagOverride = { tag: string; remove: true } | { tag: string; value: ValueExpression };

/** A metrics override, in force for some metrics and reporters. */
export interface MetricOverride {
  metric: (typeof ISTIO_METRICS)[number];
  reporters: readonly Reporter[];
  disabled?: boolean;
  tags: readonly TagOverride[];
}

/** Tracing settings for one reporter. */
export interface TracingPolicy {
  /** 0–100; applies to requests arriving without a sampling decision. */
  samplingPercentage: number;
  /** Mesh tracing provider name; undefined = the mesh default provider. */
  provider?: string;
  reportSpans: boolean;
}

/** Access-log settings for one reporter. */
export interface AccessLogPolicy {
  enabled: boolean;
  filter?: FilterExpression;
}

/** The telemetry in force for one proxy: mesh defaults, then root, namespace and workload Telemetry. */
export interface TelemetryPolicy {
  metrics: {
    /** In precedence order (root first); later overrides win per tag. */
    overrides: readonly MetricOverride[];
    buckets: Readonly<Record<HistogramMetric, readonly number[]>>;
    /** Series not updated for this long are dropped; undefined = kept forever (Istio's behaviour). */
    expiryMs?: number;
    hostHeaderFallback: boolean;
  };
  tracing: Readonly<Record<Reporter, TracingPolicy>>;
  accessLogging: Readonly<Record<Reporter, AccessLogPolicy>>;
  /** `Telemetry/<ns>/<name>` of the resources applied, lowest precedence first. */
  sources: readonly string[];
}

/** Mesh-wide defaults (Istio's MeshConfig equivalents), below every Telemetry resource. */
export interface MeshTelemetryDefaults {
  /** Namespace whose selector-less Telemetry applies mesh-wide; default `istio-system`. */
  rootNamespace?: string;
  /** Default 1 (Istio's default profile); the demo uses 100. */
  samplingPercentage?: number;
  tracingProvider?: string;
  /** Access logs on by default? Default false (Istio's default profile). */
  accessLog?: boolean;
  histogramBuckets?: Partial<Record<HistogramMetric, readonly number[]>>;
  metricExpiryMs?: number;
  /** Default true (Istio's behaviour). */
  hostHeaderFallback?: boolean;
}

/** Istio's default mesh root namespace. */
export const DEFAULT_ROOT_NAMESPACE = ROOT_NAMESPACE;

const REPORTERS: readonly Reporter[] = ["source", "destination"];

/**
 * Resolves the telemetry in force for a proxy with Istio's precedence: the mesh defaults, then the
 * root namespace's selector-less Telemetry, then the proxy namespace's selector-less one, then one
 * whose selector matches the proxy's labels; each level overrides the fields it sets. Several
 * resources at one level: the oldest wins (creation time, then name), as in Istio. Invalid
 * resources are skipped (fail closed to the lower level).
 *
 * @example
 * ```ts
 * const policy = resolveTelemetryPolicy(state.resources.values(), proxy, { samplingPercentage: 100 });
 * policy.tracing.source.samplingPercentage; // 100 unless a Telemetry says otherwise
 * ```
 */
export function resolveTelemetryPolicy(
  resources: Iterable<StoredResource>,
  proxy: ProxyIdentity,
  defaults: MeshTelemetryDefaults = {},
): TelemetryPolicy {
  const root = defaults.rootNamespace ?? DEFAULT_ROOT_NAMESPACE;
  const levels: Array<StoredResource | undefined> = [undefined, undefined, undefined];
  for (const resource of resources) {
    if (resource.kind !== "Telemetry") continue;
    const level = levelOf(resource, proxy, root);
    if (level === undefined || !validateResource(resource).ok) continue;
    const current = levels[level];
    if (!current || older(resource, current)) levels[level] = resource;
  }
  const tracing = (): TracingPolicy => ({
    samplingPercentage: defaults.samplingPercentage ?? 1,
    reportSpans: true,
    ...(defaults.tracingProvider === undefined ? {} : { provider: defaults.tracingProvider }),
  });
  const policy: Draft = {
    metrics: {
      overrides: [],
      buckets: {
        REQUEST_DURATION: defaults.histogramBuckets?.REQUEST_DURATION ?? ENVOY_DEFAULT_BUCKETS,
        REQUEST_SIZE: defaults.histogramBuckets?.REQUEST_SIZE ?? ENVOY_DEFAULT_BUCKETS,
        RESPONSE_SIZE: defaults.histogramBuckets?.RESPONSE_SIZE ?? ENVOY_DEFAULT_BUCKETS,
      },
      expiryMs: defaults.metricExpiryMs,
      hostHeaderFallback: defaults.hostHeaderFallback ?? true,
    },
    tracing: { source: tracing(), destination: tracing() },
    accessLogging: {
      source: { enabled: defaults.accessLog ?? false },
      destination: { enabled: defaults.accessLog ?? false },
    },
    sources: [],
  };
  for (const resource of levels) {
    if (!resource) continue;
    policy.sources.push(`Telemetry/${resource.metadata.namespace}/${resource.metadata.name}`);
    applySpec(policy, resource.spec as TelemetrySpec);
  }
  return policy;
}

/** 0 = root, 1 = namespace, 2 = workload; undefined = does not apply to this proxy. */
function levelOf(resource: StoredResource, proxy: ProxyIdentity, root: string): number | undefined {
  const { namespace } = resource.metadata;
  const selector = (resource.spec as TelemetrySpec).selector?.matchLabels;
  if (selector && Object.keys(selector).length > 0) {
    if (namespace !== proxy.namespace) return undefined;
    return Object.entries(selector).every(([k, v]) => proxy.labels[k] === v) ? 2 : undefined;
  }
  if (namespace === proxy.namespace && namespace !== root) return 1;
  return namespace === root ? 0 : undefined;
}

function older(a: StoredResource, b: StoredResource): boolean {
  const ca = a.metadata.creationTimestamp ?? "";
  const cb = b.metadata.creationTimestamp ?? "";
  return ca !== cb ? ca < cb : a.metadata.name < b.metadata.name;
}

function reportersOf(mode: string | undefined): Reporter[] {
  if (mode === "CLIENT") return ["source"];
  if (mode === "SERVER") return ["destination"];
  return [...REPORTERS];
}

/** A policy being assembled (mutable); returned as a {@link TelemetryPolicy}. */
interface Draft {
  metrics: {
    overrides: MetricOverride[];
    buckets: Record<HistogramMetric, readonly number[]>;
    expiryMs?: number;
    hostHeaderFallback: boolean;
  };
  tracing: Record<Reporter, TracingPolicy>;
  accessLogging: Record<Reporter, AccessLogPolicy>;
  sources: string[];
}

function applySpec(policy: Draft, spec: TelemetrySpec): void {
  for (const entry of spec.metrics ?? []) {
    for (const [metric, buckets] of Object.entries(entry.histogramBuckets ?? {}))
      if (buckets) policy.metrics.buckets[metric as HistogramMetric] = buckets;
    if (entry.metricExpiry !== undefined) policy.metrics.expiryMs = parseDurationMs(entry.metricExpiry);
    if (entry.hostHeaderFallback !== undefined) policy.metrics.hostHeaderFallback = entry.hostHeaderFallback;
    for (const override of entry.overrides ?? []) {
      if (override.match?.customMetric !== undefined) continue; // no custom metrics in Jibe
      const tags: TagOverride[] = [];
      for (const [tag, change] of Object.entries(override.tagOverrides ?? {})) {
        if (change.operation === "REMOVE") tags.push({ tag, remove: true });
        else {
          const parsed = parseValueExpression(change.value ?? "");
          if (parsed.ok) tags.push({ tag, value: parsed.expression });
        }
      }
      policy.metrics.overrides.push({
        metric: override.match?.metric ?? "ALL_METRICS",
        reporters: reportersOf(override.match?.mode),
        ...(override.disabled === undefined ? {} : { disabled: override.disabled }),
        tags,
      });
    }
  }
  for (const entry of spec.tracing ?? []) {
    for (const reporter of reportersOf(entry.match?.mode)) {
      const tracing = policy.tracing[reporter];
      if (entry.randomSamplingPercentage !== undefined)
        tracing.samplingPercentage = entry.randomSamplingPercentage;
      if (entry.disableSpanReporting !== undefined) tracing.reportSpans = !entry.disableSpanReporting;
      const provider = entry.providers?.[0]?.name;
      if (provider !== undefined) tracing.provider = provider;
    }
  }
  for (const entry of spec.accessLogging ?? []) {
    for (const reporter of reportersOf(entry.match?.mode)) {
      const logging = policy.accessLogging[reporter];
      logging.enabled = !(entry.disabled ?? false);
      if (entry.filter) {
        const parsed = parseFilterExpression(entry.filter.expression);
        if (parsed.ok) logging.filter = parsed.expression;
      } else delete logging.filter;
    }
  }
}
