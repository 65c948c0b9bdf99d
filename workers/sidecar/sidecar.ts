import { randomUUID } from "node:crypto";
import type { NatsConnection } from "@nats-io/nats-core";
import type { Verifier } from "../../broker/envelope.ts";
import type { Logger } from "../../broker/logger.ts";
import type { PolicySyncStats } from "../../broker/policy-sync.ts";
import { inboundTlsMode } from "../../control/compile/peer-authentication.ts";
import type { ProxyIdentity, Snapshot } from "../../control/compile/snapshot.ts";
import type { RotationClient } from "../../identity/rotation-client.ts";
import { createLoadBalancerState, type LoadBalancerState } from "../engine/index.ts";
import { startAdminListener } from "./admin.ts";
import { type CircuitBreakerStats, enforceConnectionPool } from "./cluster-circuit-breaker.ts";
import { createInboundPipeline } from "./inbound.ts";
import { createInboundAuthz, type InboundAuthzStats } from "./inbound-authz.ts";
import { createInboundTlsGate, type InboundTlsStats } from "./inbound-tls.ts";
import { type Listener, startListener } from "./listener.ts";
import { createListenerStats, type ListenerStats } from "./listener-stats.ts";
import {
  connectMeshTls,
  createMeshTls,
  type MeshTls,
  peerIdentityOf,
  upstreamAddressFor,
} from "./mesh-tls.ts";
import { createOutboundPipeline } from "./outbound.ts";
import { type CompileStats, type RouteGeneration, startRoutePolicy } from "./route-policy.ts";
import { createSidecarTelemetry, type SidecarTelemetryOptions } from "./sidecar-telemetry.ts";
import { createUpstreamPool, type UpstreamPoolOptions } from "./upstream-pool.ts";

/** Options of {@link startSidecar}. */
export interface SidecarOptions {
  nc: NatsConnection;
  /** Verifies signed policy (the control plane's trusted JWKS). */
  verifier: Verifier;
  proxy: ProxyIdentity;
  /** Port of the local app on 127.0.0.1 (inbound traffic goes there). */
  appPort: number;
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
  /**
   * The workload's certificate (identity/ rotation client). With it the inbound listener enforces
   * PeerAuthentication (STRICT / PERMISSIVE / DISABLE), callers' SPIFFE IDs reach authorization, and
   * requests to endpoints labelled `security.istio.io/tlsMode: istio` use mTLS. Without it: plaintext
   * only (STRICT then refuses every connection).
   */
  identity?: RotationClient;
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
  /** Present when `adminPort` was given. */
  adminPort?: number;
  /** The compiled policy currently routing new requests. */
  snapshot(): Snapshot;
  stats(): SidecarStats;
  /** Istio metrics in the Prometheus text format (also `GET /stats/prometheus` on the admin port). */
  metrics(): Promise<string>;
  /** Sends spans still waiting in the export batch. */
  flushSpans(): Promise<void>;
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
  const meshPool = createUpstreamPool({
    ...options.pool,
    ...(meshTls ? { connectMtls: connectMeshTls(meshTls) } : {}),
  });
  const appPool = createUpstreamPool(options.pool);
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
    });
    const telemetry = createSidecarTelemetry(
      {
        proxy: options.proxy,
        resources: () => policy.sync.state.resources,
        snapshot: () => policy.current().snapshot,
        log,
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
    const outbound = await startListener({
      direction: "outbound",
      host,
      port: options.outboundPort ?? 0,
      log,
      handler: createOutboundPipeline({
        proxy: options.proxy,
        routes: policy,
        lb,
        connectionPool,
        pool: meshPool,
        upstreamAddress: upstreamAddressFor(meshTls),
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
    const inbound = await startListener({
      direction: "inbound",
      host,
      port: options.inboundPort ?? 0,
      log,
      gate,
      handler: createInboundPipeline({
        appPort: options.appPort,
        pool: appPool,
        stats: stats.inbound,
        telemetry,
        randomUUID,
        log,
        authz,
      }),
    });
    listeners.push(inbound);

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

    let adminPort: number | undefined;
    if (options.adminPort !== undefined) {
      const admin = await startAdminListener(
        {
          stats: sidecarStats,
          snapshot,
          prometheus: () => telemetry.metricsText(),
          prometheusContentType: telemetry.metricsContentType,
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
      adminPort,
      snapshot,
      stats: sidecarStats,
      metrics: () => telemetry.metricsText(),
      flushSpans: () => telemetry.flushSpans(),
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
