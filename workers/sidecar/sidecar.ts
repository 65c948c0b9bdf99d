import { randomUUID } from "node:crypto";
import type { NatsConnection } from "@nats-io/nats-core";
import type { Verifier } from "../../broker/envelope.ts";
import type { Logger } from "../../broker/logger.ts";
import type { PolicySyncStats } from "../../broker/policy-sync.ts";
import { type ProxyReport, serveProxyReport } from "../../broker/proxy-report.ts";
import { inboundTlsMode } from "../../control/compile/peer-authentication.ts";
import { inboundListenerProtocol, inboundPortProtocol } from "../../control/compile/protocol.ts";
import type { ProxyIdentity, Snapshot } from "../../control/compile/snapshot.ts";
import { describeSecret } from "../../identity/describe-secret.ts";
import type { RotationClient } from "../../identity/rotation-client.ts";
import { authzCountersText } from "../engine/authz-counters.ts";
import { createLoadBalancerState, type LoadBalancerState } from "../engine/index.ts";
import { startAdminListener } from "./admin.ts";
import { type AppMetricsTarget, mergedScrape } from "./app-metrics.ts";
import { type AppProbers, runAppProbe } from "./app-probes.ts";
import { appliedConfigOf } from "./applied-config.ts";
import { type CircuitBreakerStats, enforceConnectionPool } from "./cluster-circuit-breaker.ts";
import { createInboundPipeline } from "./inbound.ts";
import {
  authzObservation,
  countInboundDecision,
  createInboundAuthz,
  type InboundAuthzStats,
} from "./inbound-authz.ts";
import { createInboundTlsGate, type InboundTlsStats } from "./inbound-tls.ts";
import { type Listener, startListener } from "./listener.ts";
import { createListenerStats, type ListenerStats } from "./listener-stats.ts";
import { createMeshTls, type MeshTls, peerIdentityOf, upstreamAddressFor } from "./mesh-tls.ts";
import { createOutboundPipeline } from "./outbound.ts";
import { createPeerSecurityLog } from "./peer-security.ts";
import { type CompileStats, type RouteGeneration, startRoutePolicy } from "./route-policy.ts";
import { createSidecarTelemetry, type SidecarTelemetryOptions } from "./sidecar-telemetry.ts";
import { createInboundTcpProxy } from "./tcp-inbound.ts";
import {
  createOutboundTcpProxy,
  type OutboundTcpDeps,
  startTcpBindings,
  type TcpUpstreamBinding,
} from "./tcp-outbound.ts";
import { createHttp2SessionPool } from "./upstream-h2.ts";
import { createUpstreamPool, type UpstreamPoolOptions } from "./upstream-pool.ts";
import { createUpstreamTlsDialer } from "./upstream-tls.ts";

/** Options of {@link startSidecar}. */
export interface SidecarOptions {
  nc: NatsConnection;
  /** Verifies signed policy (the control plane's trusted JWKS). */
  verifier: Verifier;
  proxy: ProxyIdentity;
  /** Port of the local app on 127.0.0.1 (inbound traffic goes there). */
  appPort: number;
  /**
   * Local ports bound to TCP services, for clients that cannot send HTTP `CONNECT` to the outbound
   * listener (e.g. a MySQL driver): `[{ authority: "mysql:3306", port: 13306 }]`; port 0 picks one
   * (see `Sidecar.tcpPorts`).
   */
  tcpUpstreams?: TcpUpstreamBinding[];
  /** Mesh → app listener; 0 or absent picks a free port. */
  inboundPort?: number;
  /** App → mesh listener; 0 or absent picks a free port. */
  outboundPort?: number;
  /** Address the listeners bind; default 127.0.0.1. */
  host?: string;
  /** Also serve `/ready`, `/stats`, `/config_dump` on this port (0 = free port). Off by default. */
  adminPort?: number;
  /** How long `stop()` waits for in-flight requests; default 10 s. */
  drainTimeoutMs?: number;
  /** Per-endpoint connection pool limits. */
  pool?: UpstreamPoolOptions;
  log?: Logger;
  /** Randomness for weighted routes and load balancing; default Math.random. */
  random?: () => number;
  /** Metrics, tracing and access-log settings (mesh defaults; Telemetry resources refine them). */
  telemetry?: SidecarTelemetryOptions;
  /** The app's own Prometheus endpoint (`prometheus.io/port`/`path`), merged into `/stats/prometheus`. */
  appMetrics?: AppMetricsTarget;
  /**
   * The workload's certificate (identity/ rotation client). With it the inbound listener enforces
   * PeerAuthentication (STRICT / PERMISSIVE / DISABLE), callers' SPIFFE IDs reach authorization, and
   * requests to endpoints labelled `security.istio.io/tlsMode: istio` use mTLS. Without it: plaintext
   * only (STRICT then refuses every connection).
   */
  identity?: RotationClient;
  /**
   * The app's original kubelet probes by rewritten path (`JIBE_KUBE_APP_PROBERS`); the admin port
   * serves them as `/app-health/<container>/livez|readyz|startupz` and runs them against the app.
   */
  appProbers?: AppProbers;
  /**
   * Answer proxy report requests on the bus (certificate chain, PeerAuthentication mode, observed
   * mTLS; `jibe proxy-config secret`, `jibe mtls check`). Default true.
   */
  report?: boolean;
  /** Fetches remote JWKS for RequestAuthentication `jwksUri`; default global fetch. */
  jwksFetch?: (
    url: string,
    init: { signal: AbortSignal; headers: Record<string, string> },
  ) => Promise<Response>;
}

/** Everything the sidecar counts, as shown by `stats()` and `/stats`. */
export interface SidecarStats {
  proxy: string;
  /** Config-store revision of the snapshot in use. */
  revision: number;
  /** Content hash of the snapshot in use. */
  version: string;
  sync: PolicySyncStats;
  compile: Omit<CompileStats, "diagnostics"> & { diagnostics: number };
  inbound: ListenerStats;
  outbound: ListenerStats;
  /** Endpoints with an open keep-alive pool. */
  upstreamPools: number;
  /** Live Prometheus series per Istio metric. */
  metricSeries: Record<string, number>;
  /** Inbound request authentication and authorization counters (403 `RBAC` also count in `inbound.byFlag`). */
  authz: InboundAuthzStats;
  /** Inbound connections by how PeerAuthentication let them in (mTLS / plaintext) or refused them. */
  mtls: InboundTlsStats;
  /** DestinationRule enforcement: connection pool load and `UO` overflows, endpoints ejected now, per cluster. */
  trafficPolicy: {
    connectionPools: ReturnType<CircuitBreakerStats["clusters"]>;
    ejected: Record<string, string[]>;
  };
}

/** A running sidecar. */
export interface Sidecar {
  inboundPort: number;
  outboundPort: number;
  /** Local ports of `tcpUpstreams`, by authority (e.g. `{ "mysql:3306": 13306 }`). */
  tcpPorts: Record<string, number>;
  /** Present when `adminPort` was given. */
  adminPort?: number;
  /** The compiled policy currently routing new requests. */
  snapshot(): Snapshot;
  stats(): SidecarStats;
  /** Istio metrics in the Prometheus text format (also `GET /stats/prometheus` on the admin port). */
  metrics(): Promise<string>;
  /** Sends spans still waiting in the export batch. */
  flushSpans(): Promise<void>;
  /** What the sidecar reports on the bus: certificates, PeerAuthentication mode, observed mTLS. */
  report(): ProxyReport;
  /** Stops listening, drains in-flight requests, stops policy sync. */
  stop(): Promise<void>;
}

/**
 * Starts a per-pod proxy: follows signed policy on NATS, and serves an outbound listener (app →
 * mesh, routed by the engine) and an inbound listener (mesh → local app). Resolves once the initial
 * policy is loaded and both listeners accept connections.
 *
 * @example
 * ```ts
 * const sidecar = await startSidecar({
 *   nc, verifier, appPort: 9080, outboundPort: 15001, inboundPort: 15006,
 *   proxy: { id: "sidecar~reviews-v1~default", role: "sidecar", namespace: "default", labels: { app: "reviews", version: "v1" } },
 * });
 * // the app calls http://127.0.0.1:15001 with `Host: ratings:9080`
 * await sidecar.stop();
 * ```
 */
export async function startSidecar(options: SidecarOptions): Promise<Sidecar> {
  const log = options.log ?? console;
  const host = options.host ?? "127.0.0.1";
  const random = options.random ?? Math.random;
  if (options.identity) await options.identity.ready;
  const meshTls: MeshTls | undefined = options.identity ? createMeshTls(options.identity) : undefined;
  const peerSecurity = createPeerSecurityLog();
  const meshPool = createUpstreamPool({
    ...options.pool,
    dialerFor: createUpstreamTlsDialer({
      ...(meshTls ? { meshTls } : {}),
      onHandshake: (socket) => peerSecurity.recordHandshake(socket),
    }),
  });
  const appPool = createUpstreamPool(options.pool);
  // HTTP/2 upstreams (h2c, gRPC) and TCP tunnels reach endpoints as the HTTP/1.1 pools do (auto-mTLS).
  const upstreamDialer = createUpstreamTlsDialer({
    ...(meshTls ? { meshTls } : {}),
    onHandshake: (socket) => peerSecurity.recordHandshake(socket),
  });
  const http2Upstreams = createHttp2SessionPool({ dialerFor: upstreamDialer });
  const stats = { inbound: createListenerStats(), outbound: createListenerStats() };
  const cleanups: Array<() => Promise<void>> = [];
  const cleanup = async () => {
    for (const step of cleanups.reverse()) await step().catch((e) => log.warn(`sidecar stop: ${String(e)}`));
  };

  try {
    const policy = await startRoutePolicy({
      nc: options.nc,
      verifier: options.verifier,
      proxy: options.proxy,
      log,
      onSwap: (generation) => meshPool.retain(endpointsOf(generation)),
    });
    cleanups.push(async () => {
      await policy.stop();
      meshPool.destroy();
      appPool.destroy();
      http2Upstreams.destroy();
    });
    const telemetry = createSidecarTelemetry(
      {
        proxy: options.proxy,
        resources: () => policy.sync.state.resources,
        snapshot: () => policy.current().snapshot,
        log,
        upstreamPrincipal: (socket) => peerSecurity.presentedBy(socket),
      },
      options.telemetry,
    );
    cleanups.push(() => telemetry.stop());
    const drainMs = options.drainTimeoutMs ?? 10_000;
    const listeners: Listener[] = [];
    cleanups.push(async () => {
      await Promise.all(listeners.map((listener) => listener.close(drainMs)));
    });

    const lb = createLoadBalancerState();
    const connectionPool = enforceConnectionPool();
    const outboundTcp: OutboundTcpDeps = {
      proxy: options.proxy,
      routes: policy,
      lb,
      random,
      upstreamAddress: upstreamAddressFor(meshTls),
      dialerFor: upstreamDialer,
      metrics: telemetry.tcp,
      self: telemetry.self,
      destinationService: telemetry.destinationService,
      log,
    };
    const tcpBindings = await startTcpBindings(outboundTcp, options.tcpUpstreams ?? [], host);
    cleanups.push(() => tcpBindings.close());
    const outbound = await startListener({
      direction: "outbound",
      host,
      port: options.outboundPort ?? 0,
      log,
      connect: createOutboundTcpProxy(outboundTcp),
      handler: createOutboundPipeline({
        proxy: options.proxy,
        routes: policy,
        lb,
        connectionPool,
        pool: meshPool,
        http2: http2Upstreams,
        upstreamAddress: upstreamAddressFor(meshTls),
        peerSecurity,
        stats: stats.outbound,
        telemetry,
        random,
        randomUUID,
        log,
      }),
    });
    listeners.push(outbound);
    const authz = createInboundAuthz({
      snapshot: () => policy.current().snapshot,
      appPort: options.appPort,
      log,
      peerIdentity: peerIdentityOf,
      ...(options.jwksFetch ? { fetch: options.jwksFetch } : {}),
    });
    const gate = createInboundTlsGate({
      mode: () => inboundTlsMode(policy.current().snapshot.inboundTls, options.appPort),
      ...(meshTls ? { meshTls } : {}),
      log,
    });
    cleanups.push(async () => {
      gate.stop();
      meshTls?.stop();
    });
    const snapshotNow = () => policy.current().snapshot;
    let inboundPort = 0;
    const inboundTcp = createInboundTcpProxy({
      appPort: options.appPort,
      snapshot: snapshotNow,
      metrics: telemetry.tcp,
      self: telemetry.self,
      destinationService: () => telemetry.destinationService("", servedService(snapshotNow(), inboundPort)),
      onDecision: (decision) => countInboundDecision(authz.stats, decision),
      log,
    });
    const inbound = await startListener({
      direction: "inbound",
      host,
      port: options.inboundPort ?? 0,
      log,
      gate,
      rawTcp: () =>
        inboundListenerProtocol(snapshotNow().inboundProtocols, options.appPort) === "tcp"
          ? inboundTcp
          : undefined,
      handler: createInboundPipeline({
        appPort: options.appPort,
        pool: appPool,
        http2: {
          pool: http2Upstreams,
          appProtocol: () => inboundPortProtocol(snapshotNow().inboundProtocols, options.appPort),
        },
        stats: stats.inbound,
        telemetry,
        randomUUID,
        log,
        authz,
        peerSecurity,
      }),
    });
    listeners.push(inbound);
    inboundPort = inbound.port;

    const sidecarStats = (): SidecarStats => {
      const { snapshot } = policy.current();
      return {
        proxy: options.proxy.id,
        revision: snapshot.revision,
        version: snapshot.version,
        sync: policy.sync.stats,
        compile: { ...policy.compile, diagnostics: policy.compile.diagnostics.length },
        inbound: stats.inbound,
        outbound: stats.outbound,
        upstreamPools: meshPool.size,
        metricSeries: telemetry.seriesCount(),
        authz: authz.report(),
        mtls: gate.stats,
        trafficPolicy: {
          connectionPools: connectionPool.clusters(),
          ejected: ejectedEndpoints(snapshot, lb),
        },
      };
    };
    const snapshot = () => policy.current().snapshot;
    const report = (): ProxyReport => {
      const inboundTls = snapshot().inboundTls;
      const credentials = meshTls?.credentials();
      return {
        v: 1,
        proxy: options.proxy.id,
        kind: "sidecar",
        namespace: options.proxy.namespace,
        labels: options.proxy.labels,
        at: Date.now(),
        inboundAddress: `${host}:${inbound.port}`,
        ...(credentials ? { secret: describeSecret(credentials, Date.now()) } : {}),
        peerAuthentication: {
          mode: inboundTlsMode(inboundTls, options.appPort),
          defaultMode: inboundTls?.defaultMode ?? "PERMISSIVE",
          ports: Object.fromEntries(Object.entries(inboundTls?.ports ?? {}).map(([p, m]) => [p, String(m)])),
        },
        ...peerSecurity.report(),
        authz: authzObservation(authz.report()),
        config: appliedConfigOf(options.proxy, snapshot()),
      };
    };
    if (options.report !== false) {
      const stopReports = serveProxyReport(options.nc, report);
      cleanups.push(async () => stopReports());
    }
    // Istio metrics, then authorization decisions per policy (incl. dry-run shadow decisions).
    const metricsText = async () => `${await telemetry.metricsText()}${authzCountersText(authz.stats)}`;

    let adminPort: number | undefined;
    if (options.adminPort !== undefined) {
      const admin = await startAdminListener(
        {
          stats: sidecarStats,
          snapshot,
          prometheus: mergedScrape(metricsText, options.appMetrics).text,
          prometheusContentType: telemetry.metricsContentType,
          appHealth: (path) => {
            const prober = options.appProbers?.[path];
            return prober ? runAppProbe(prober) : undefined;
          },
        },
        host,
        options.adminPort,
      );
      cleanups.push(() => admin.close());
      adminPort = admin.port;
    }

    const adminNote = adminPort === undefined ? "" : `, admin ${host}:${adminPort}`;
    log.info(
      `sidecar ${options.proxy.id}: outbound ${host}:${outbound.port}, inbound ${host}:${inbound.port} → app 127.0.0.1:${options.appPort}${adminNote}, revision ${snapshot().revision}`,
    );
    let stopping: Promise<void> | undefined;
    return {
      inboundPort: inbound.port,
      outboundPort: outbound.port,
      tcpPorts: tcpBindings.ports,
      adminPort,
      snapshot,
      stats: sidecarStats,
      metrics: metricsText,
      flushSpans: () => telemetry.flushSpans(),
      report,
      stop: () => {
        stopping ??= cleanup();
        return stopping;
      },
    };
  } catch (error) {
    await cleanup();
    throw error;
  }
}

/** The Service whose endpoint is this sidecar's inbound listener (TCP metrics name it). */
function servedService(snapshot: Snapshot, inboundPort: number): string | undefined {
  return Object.values(snapshot.clusters).find((c) => c.endpoints.some((e) => e.port === inboundPort))
    ?.service;
}

function endpointsOf(generation: RouteGeneration) {
  return Object.values(generation.snapshot.clusters).flatMap((cluster) => cluster.endpoints);
}

/** Endpoints (`address:port`) ejected by outlier detection now, per cluster that has any. */
function ejectedEndpoints(snapshot: Snapshot, lb: LoadBalancerState): Record<string, string[]> {
  const out: Record<string, string[]> = {};
  const now = lb.clock();
  for (const cluster of Object.values(snapshot.clusters)) {
    if (!cluster.outlierDetection) continue;
    const ejected = lb.outliers.ejected(cluster, now);
    if (ejected.length > 0) out[cluster.name] = ejected;
  }
  return out;
}
