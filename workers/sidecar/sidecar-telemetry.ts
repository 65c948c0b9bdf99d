import { randomBytes } from "node:crypto";
import type { StoredResource } from "../../broker/events.ts";
import type { Logger } from "../../broker/logger.ts";
import type { ProxyIdentity, Snapshot } from "../../control/compile/snapshot.ts";
import {
  type DestinationService,
  encodePeerHeader,
  type MeshTelemetryDefaults,
  type MeshTracingProviders,
  meshTracingProviders,
  type RequestRecord,
  resolveDestinationService,
  resolveTelemetryPolicy,
  type TelemetryPolicy,
  type WorkloadMetadata,
  workloadMetadataOf,
} from "../telemetry/index.ts";
import { createAccessLog } from "./access-log.ts";
import { GRPC_MESSAGE_METRICS, recordGrpcMessages } from "./grpc-message-metrics.ts";
import { createIstioLabelCache } from "./istio-label-cache.ts";
import { createMetricSeries } from "./metric-series.ts";
import { REQUEST_METRICS, recordRequestMetrics } from "./request-metrics.ts";
import { createSpanExport, type TracingProvider } from "./span-export.ts";
import { createTcpMetrics, TCP_METRICS, type TcpMetrics } from "./tcp-metrics.ts";

/** Telemetry settings of a sidecar (the mesh-wide part; Telemetry resources refine it). */
export interface SidecarTelemetryOptions {
  /** Mesh defaults: sampling (1%), access log (off), buckets, expiry, host fallback, root namespace. */
  mesh?: MeshTelemetryDefaults;
  /** Named OTLP/HTTP trace providers; without any, trace headers still propagate but no span is sent. */
  tracingProviders?: Readonly<Record<string, TracingProvider>>;
  /** Istio cluster id for `*_cluster` labels; default `Kubernetes`. */
  clusterId?: string;
  /** Where access-log lines go; default stdout. */
  accessLogSink?: (line: string) => void;
  /** Span batch delay; default 1 s. */
  spanExportDelayMs?: number;
}

/** What the telemetry layer of both pipelines shares. */
export interface SidecarTelemetry {
  readonly self: WorkloadMetadata;
  /** This workload's peer header value. */
  readonly peerHeader: string;
  /** The policy in force (recomputed when the resource set changes). */
  policy(): TelemetryPolicy;
  /**
   * `destination_service*` of a request: the routed service (outbound); inbound, the service whose
   * endpoint is this listener (`local`, `address:port`), as Istio labels by the inbound listener's service, so a
   * caller keeping an outside Host (the edge) does not make it a Host-header fallback.
   */
  destinationService(authority: string, routed: string | undefined, local?: string): DestinationService;
  /** Port of the Service whose endpoint is this inbound listener (`local`, `address:port`), when known. */
  servicePortAt(local: string): number | undefined;
  /** The SPIFFE ID an upstream server presented on `socket` at its handshake, if known. */
  upstreamPrincipal(socket: unknown): string | undefined;
  randomHex(bytes: number): string;
  /** Metrics, span and access log of a completed request. */
  complete(record: RequestRecord): void;
  /** Istio's TCP metrics, under the same Telemetry overrides and expiry as the HTTP ones. */
  readonly tcp: TcpMetrics;
  metricsText(): Promise<string>;
  readonly metricsContentType: string;
  seriesCount(): Record<string, number>;
  flushSpans(): Promise<void>;
  stop(): Promise<void>;
}

/** Where the sidecar telemetry reads the live policy. */
export interface TelemetrySources {
  proxy: ProxyIdentity;
  resources(): ReadonlyMap<string, StoredResource>;
  snapshot(): Snapshot;
  log: Logger;
  /** Epoch ms; default Date.now (tests move it to expire series). */
  clock?: () => number;
  /** The SPIFFE ID an upstream server presented on a connection (recorded at its TLS handshake). */
  upstreamPrincipal?: (socket: unknown) => string | undefined;
}

/**
 * Assembles a sidecar's telemetry: policy resolution (memoised per resource set), request metrics,
 * span export and access log.
 *
 * @example
 * ```ts
 * const telemetry = createSidecarTelemetry({ proxy, resources: () => policy.sync.state.resources, snapshot, log }, {});
 * compose([recordTelemetry(telemetry), ...], forward);
 * ```
 */
export function createSidecarTelemetry(
  sources: TelemetrySources,
  options: SidecarTelemetryOptions = {},
): SidecarTelemetry {
  const clock = sources.clock ?? Date.now;
  const self = workloadMetadataOf(sources.proxy, options.clusterId);
  // One series layer for HTTP, gRPC message and TCP metrics: tag overrides and expiry apply alike.
  const metrics = createMetricSeries([...REQUEST_METRICS, ...GRPC_MESSAGE_METRICS, ...TCP_METRICS], clock);
  let meshTracingFor:
    | { resources: ReadonlyMap<string, StoredResource>; providers: MeshTracingProviders }
    | undefined;
  const meshTracing = () => {
    const resources = sources.resources();
    if (meshTracingFor?.resources !== resources)
      meshTracingFor = { resources, providers: meshTracingProviders(resources.values()) };
    return meshTracingFor.providers;
  };
  const spans = createSpanExport({
    providers: options.tracingProviders ?? {},
    meshProviders: meshTracing,
    ...(options.mesh?.tracingProvider ? { defaultProvider: options.mesh.tracingProvider } : {}),
    self,
    proxyId: sources.proxy.id,
    ...(options.spanExportDelayMs === undefined ? {} : { exportDelayMs: options.spanExportDelayMs }),
    log: sources.log,
  });
  const sink = options.accessLogSink ?? ((line: string) => process.stdout.write(line));
  const accessLog = createAccessLog(sink);
  const labelsOf = createIstioLabelCache();
  const suffix = sources.proxy.domainSuffix ?? "cluster.local";

  let policyFor: { resources: ReadonlyMap<string, StoredResource>; policy: TelemetryPolicy } | undefined;
  const policy = () => {
    const resources = sources.resources();
    if (policyFor?.resources !== resources) {
      const resolved = resolveTelemetryPolicy(resources.values(), sources.proxy, options.mesh);
      metrics.configure(resolved);
      policyFor = { resources, policy: resolved };
    }
    return policyFor.policy;
  };
  let servicesFor: { snapshot: Snapshot; services: Set<string> } | undefined;
  const knownServices = () => {
    const snapshot = sources.snapshot();
    if (servicesFor?.snapshot !== snapshot)
      servicesFor = { snapshot, services: new Set(Object.values(snapshot.clusters).map((c) => c.service)) };
    return servicesFor.services;
  };
  let ownFor: { snapshot: Snapshot; byEndpoint: Map<string, { service: string; port: number }> } | undefined;
  const ownServiceAt = (local: string) => {
    const snapshot = sources.snapshot();
    if (ownFor?.snapshot !== snapshot) {
      const byEndpoint = new Map<string, { service: string; port: number }>();
      for (const cluster of Object.values(snapshot.clusters))
        for (const endpoint of cluster.endpoints) {
          const key = `${endpoint.address}:${endpoint.port}`;
          if (!byEndpoint.has(key)) byEndpoint.set(key, { service: cluster.service, port: cluster.port });
        }
      ownFor = { snapshot, byEndpoint };
    }
    return ownFor.byEndpoint.get(local.replace(/^::ffff:/, ""));
  };
  let resolvedFor:
    | {
        services: ReadonlySet<string>;
        hostHeaderFallback: boolean;
        /** Routed service (or "") → authority → answer. */
        answers: Map<string, Map<string, DestinationService>>;
        size: number;
      }
    | undefined;
  policy();
  const sweeper = setInterval(() => metrics.expire(), 10_000);
  sweeper.unref();

  return {
    self,
    peerHeader: encodePeerHeader(self),
    policy,
    tcp: createTcpMetrics(metrics, policy),
    destinationService: (authority, routed, local) => {
      const own = routed ?? (local === undefined ? undefined : ownServiceAt(local)?.service);
      const services = knownServices();
      const hostHeaderFallback = policy().metrics.hostHeaderFallback;
      // The answer depends only on these inputs: kept per (service, authority) until they change,
      // rather than resolved (strings split and joined) for every request.
      if (resolvedFor?.services !== services || resolvedFor.hostHeaderFallback !== hostHeaderFallback)
        resolvedFor = { services, hostHeaderFallback, answers: new Map(), size: 0 };
      const answers = resolvedFor.answers;
      let byAuthority = answers.get(own ?? "");
      let answer = byAuthority?.get(authority);
      if (answer) return answer;
      answer = resolveDestinationService({
        ...(own ? { routed: own } : {}),
        authority,
        knownServices: services,
        namespace: sources.proxy.namespace,
        suffix,
        hostHeaderFallback,
      });
      // Host headers are the caller's to choose: a bounded memory, started afresh when full.
      if (resolvedFor.size >= MAX_REMEMBERED_DESTINATIONS) {
        answers.clear();
        resolvedFor.size = 0;
        byAuthority = undefined;
      }
      if (!byAuthority) {
        byAuthority = new Map();
        answers.set(own ?? "", byAuthority);
      }
      byAuthority.set(authority, answer);
      resolvedFor.size++;
      return answer;
    },
    servicePortAt: (local) => ownServiceAt(local)?.port,
    upstreamPrincipal: (socket) => sources.upstreamPrincipal?.(socket),
    randomHex: createRandomHex(),
    complete(record) {
      const current = policy();
      recordRequestMetrics(metrics, record, labelsOf);
      recordGrpcMessages(metrics, record, labelsOf);
      const tracing = current.tracing[record.reporter];
      if (record.trace?.sampled && tracing.reportSpans) spans.export(record, tracing.provider);
      accessLog(record, current.accessLogging[record.reporter]);
    },
    metricsText: async () => {
      policy();
      return metrics.text();
    },
    metricsContentType: metrics.contentType,
    seriesCount: () => metrics.seriesCount(),
    flushSpans: () => spans.flush(),
    async stop() {
      clearInterval(sweeper);
      await spans.shutdown();
    },
  };
}

/** Destination services remembered per routed service and authority (see `destinationService`). */
const MAX_REMEMBERED_DESTINATIONS = 4096;

/** Random bytes fetched at once for trace and span ids (one call per request is a measurable cost). */
const RANDOM_POOL_BYTES = 4096;

/**
 * Hex of `bytes` cryptographically random bytes, served from a pool refilled when used up; every
 * byte is handed out once.
 */
function createRandomHex(): (bytes: number) => string {
  let pool = randomBytes(RANDOM_POOL_BYTES);
  let used = 0;
  return (bytes) => {
    if (bytes > RANDOM_POOL_BYTES) return randomBytes(bytes).toString("hex");
    if (used + bytes > RANDOM_POOL_BYTES) {
      pool = randomBytes(RANDOM_POOL_BYTES);
      used = 0;
    }
    const hex = pool.toString("hex", used, used + bytes);
    used += bytes;
    return hex;
  };
}
