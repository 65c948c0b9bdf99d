import { randomUUID } from "node:crypto";
import { readFileSync } from "node:fs";
import type { Duplex } from "node:stream";
import { TLSSocket, type TlsOptions } from "node:tls";
import type { NatsConnection } from "@nats-io/nats-core";
import type { Verifier } from "../../broker/envelope.ts";
import type { Logger } from "../../broker/logger.ts";
import { serveProxyReport } from "../../broker/proxy-report.ts";
import { forwardsTcp } from "../../control/compile/gateway-servers.ts";
import type { GatewayServerConfig, ProxyIdentity, Snapshot } from "../../control/compile/snapshot.ts";
import type { RotationClient } from "../../identity/rotation-client.ts";
import { createLoadBalancerState } from "../engine/index.ts";
import { enforceConnectionPool } from "../sidecar/cluster-circuit-breaker.ts";
import { type Listener, startListener } from "../sidecar/listener.ts";
import { createListenerStats, type ListenerStats } from "../sidecar/listener-stats.ts";
import { createMeshTls, type MeshTls, upstreamAddressFor } from "../sidecar/mesh-tls.ts";
import { createOutboundPipeline } from "../sidecar/outbound.ts";
import { startRoutePolicy } from "../sidecar/route-policy.ts";
import { createSidecarTelemetry, type SidecarTelemetryOptions } from "../sidecar/sidecar-telemetry.ts";
import { createHttp2SessionPool } from "../sidecar/upstream-h2.ts";
import { createUpstreamPool, type UpstreamPoolOptions } from "../sidecar/upstream-pool.ts";
import { createUpstreamTlsDialer } from "../sidecar/upstream-tls.ts";
import { forwardClientCertDetails } from "./client-cert-details.ts";
import { gatewayReport } from "./gateway-report.ts";
import { createServerGate, type GatewayConnectionStats } from "./server-gate.ts";
import { admitServerHosts } from "./server-hosts.ts";
import { loadServerCredentials, type ServerCredentials, serverTlsOptions } from "./server-tls.ts";
import { createTcpForward } from "./tcp-forward.ts";
import { createTlsPassthrough } from "./tls-passthrough.ts";

/** Options of {@link startGateway}. */
export interface GatewayOptions {
  nc: NatsConnection;
  /** Verifies signed policy (the control plane's trusted JWKS). */
  verifier: Verifier;
  /** `role: "gateway"`; its labels select Istio Gateways (default deployments: `istio: ingressgateway`). */
  proxy: ProxyIdentity;
  /** Address the server ports bind; default 0.0.0.0. */
  host?: string;
  /**
   * The local port a Gateway server port listens on (e.g. 80 → 8080 when not root, as Istio's
   * gateway pods do); default the server port itself.
   */
  bindPort?: (serverPort: number) => number;
  /** Folder of `credentialName` Secrets: `<dir>/<name>/tls.crt`, `tls.key`, `ca.crt`. */
  credentialsDir?: string;
  /** Reads certificate files (default `readFileSync` as UTF-8). */
  readFile?: (path: string) => string;
  /**
   * The gateway's mesh certificate: upstreams labelled `security.istio.io/tlsMode: istio` get mTLS,
   * and ISTIO_MUTUAL servers present it (clients verified against the mesh roots).
   */
  identity?: RotationClient;
  pool?: UpstreamPoolOptions;
  telemetry?: SidecarTelemetryOptions;
  drainTimeoutMs?: number;
  random?: () => number;
  log?: Logger;
  /** Answer proxy report requests on the bus (`jibe proxy-status`). Default true. */
  report?: boolean;
}

/** A running ingress gateway. */
export interface Gateway {
  /** Bound local port by Gateway server port, for the ports open now. */
  ports(): Record<number, number>;
  snapshot(): Snapshot;
  stats(): { http: ListenerStats; connections: GatewayConnectionStats; revision: number };
  /** Istio metrics in the Prometheus text format. */
  metrics(): Promise<string>;
  /** Resolves once the listeners match the snapshot in force (after a policy change). */
  settled(): Promise<void>;
  stop(): Promise<void>;
}

/**
 * Starts the Node ingress gateway: follows signed policy like a sidecar, and opens one listener per
 * port of the Istio Gateway servers that select its labels (opened and closed as Gateways change).
 * HTTP, and HTTPS after TLS termination (SIMPLE, MUTUAL, OPTIONAL_MUTUAL, ISTIO_MUTUAL; certificate
 * by SNI), go through the sidecar's outbound pipeline with the VirtualServices bound to the Gateway
 * (`httpsRedirect` included) to mesh services (auto-mTLS to sidecars); TCP servers and terminated
 * TLS servers forward bytes with a VirtualService `tcp` route; PASSTHROUGH servers route the raw TLS
 * stream by SNI (`tls` routes), AUTO_PASSTHROUGH ones by the cluster the SNI names.
 *
 * @example
 * ```ts
 * const gateway = await startGateway({ nc, verifier, credentialsDir: "/etc/jibe/credentials",
 *   proxy: { id: "gateway~ingress~istio-system", role: "gateway", namespace: "istio-system", labels: { istio: "ingressgateway" } } });
 * gateway.ports(); // { 80: 80, 443: 443 }
 * ```
 */
export async function startGateway(options: GatewayOptions): Promise<Gateway> {
  const log = options.log ?? console;
  const host = options.host ?? "0.0.0.0";
  const random = options.random ?? Math.random;
  const readFile = options.readFile ?? ((path: string) => readFileSync(path, "utf8"));
  if (options.identity) await options.identity.ready;
  const meshTls: MeshTls | undefined = options.identity ? createMeshTls(options.identity) : undefined;
  const dialerFor = createUpstreamTlsDialer(meshTls ? { meshTls } : {});
  const pool = createUpstreamPool({ ...options.pool, dialerFor });
  const http2 = createHttp2SessionPool({ dialerFor });
  const httpStats = createListenerStats();
  const connections: GatewayConnectionStats = {
    terminated: 0,
    passthrough: 0,
    tcp: 0,
    plaintext: 0,
    refused: 0,
    handshakeFailures: 0,
  };
  const lb = createLoadBalancerState();
  const listeners = new Map<number, Listener>();
  const drainMs = options.drainTimeoutMs ?? 10_000;
  // TLS options by server settings, rebuilt when the policy changes (files are read again then).
  let contexts = new Map<string, TlsOptions>();
  let reconciling: Promise<void> = Promise.resolve();
  let started = false;
  let stopped = false;
  const scheduleReconcile = () => {
    contexts = new Map();
    reconciling = reconciling
      .then(reconcile)
      .catch((error: unknown) => log.error(`gateway ${options.proxy.id}: listeners: ${String(error)}`));
  };

  const policy = await startRoutePolicy({
    nc: options.nc,
    verifier: options.verifier,
    proxy: options.proxy,
    log,
    // Before start-up completes the listeners are opened below, from the snapshot then in force.
    onSwap: () => {
      if (started) scheduleReconcile();
    },
  });
  const snapshot = () => policy.current().snapshot;
  const telemetry = createSidecarTelemetry(
    { proxy: options.proxy, resources: () => policy.sync.state.resources, snapshot, log },
    options.telemetry,
  );
  const connectionPool = enforceConnectionPool();
  // One pipeline per server port: each admits only the hosts of that port's servers.
  const handlerFor = (port: number) =>
    createOutboundPipeline({
      // Istio's gateways: XFCC sanitized and set from a verified client certificate, then per-port hosts.
      admitTarget: (next) => forwardClientCertDetails()(admitServerHosts(() => serversOf(port), port)(next)),
      proxy: options.proxy,
      routes: policy,
      lb,
      connectionPool,
      pool,
      http2,
      upstreamAddress: upstreamAddressFor(meshTls),
      stats: httpStats,
      telemetry,
      random,
      randomUUID,
      log,
      schemeFromConnection: true,
      // Routes match the server port (Istio's per-port route configuration), not the bound one.
      routePort: port,
    });
  const tcpForward = createTcpForward({
    snapshot,
    lb,
    random,
    upstreamAddress: upstreamAddressFor(meshTls),
    dialerFor,
    metrics: telemetry.tcp,
    self: telemetry.self,
    destinationService: telemetry.destinationService,
    log,
  });
  const passthrough = createTlsPassthrough({ forward: tcpForward, log });
  const forward = (socket: Duplex, server: GatewayServerConfig, head?: Buffer) => {
    if (!server.tcpRoute) {
      log.debug(`gateway ${server.origin}: no VirtualService tcp route; connection closed`);
      return void socket.destroy();
    }
    tcpForward(socket, {
      origin: server.tcpRoute.origin,
      destinations: server.tcpRoute.destinations,
      authority: (socket instanceof TLSSocket && socket.servername) || server.hosts[0] || "*",
      ...(head ? { head } : {}),
    });
  };
  // ISTIO_MUTUAL servers present the current mesh certificate: a rotation rebuilds their contexts.
  const unfollowRotation = meshTls?.onRotate(() => {
    contexts = new Map();
  });
  const meshCredentials = (): ServerCredentials | undefined => {
    const current = meshTls?.credentials();
    return current && { cert: current.certChainPem, key: current.keyPem, ca: current.rootsPem };
  };
  const tlsOptions = (server: GatewayServerConfig): TlsOptions => {
    const http = !forwardsTcp(server);
    const key = `${http}|${JSON.stringify(server.tls ?? {})}`;
    let found = contexts.get(key);
    if (!found) {
      const tls = server.tls ?? {};
      const credentials = loadServerCredentials(tls, options.credentialsDir, readFile, meshCredentials());
      found = serverTlsOptions(tls, credentials, http);
      contexts.set(key, found);
    }
    return found;
  };
  const serversOf = (port: number) => (snapshot().gatewayServers ?? []).filter((s) => s.port === port);

  async function reconcile(): Promise<void> {
    if (stopped) return;
    const wanted = new Set((snapshot().gatewayServers ?? []).map((s) => s.port));
    for (const [port, listener] of listeners)
      if (!wanted.has(port)) {
        listeners.delete(port);
        await listener.close(drainMs);
        log.info(`gateway ${options.proxy.id}: closed server port ${port}`);
      }
    for (const port of wanted) {
      if (listeners.has(port)) continue;
      const local = options.bindPort?.(port) ?? port;
      try {
        const listener = await startListener({
          direction: "outbound",
          host,
          port: local,
          log,
          handler: handlerFor(port),
          gate: createServerGate({
            servers: () => serversOf(port),
            tlsOptions,
            passthrough,
            forward,
            stats: connections,
            log,
          }),
        });
        listeners.set(port, listener);
        log.info(`gateway ${options.proxy.id}: server port ${port} on ${host}:${listener.port}`);
      } catch (error) {
        log.error(
          `gateway ${options.proxy.id}: cannot listen on ${host}:${local} for port ${port}: ${String(error)}`,
        );
      }
    }
  }
  started = true;
  scheduleReconcile();
  await reconciling;
  const ports = () => Object.fromEntries([...listeners].map(([port, listener]) => [port, listener.port]));
  const stopReports =
    options.report === false
      ? undefined
      : serveProxyReport(options.nc, () => gatewayReport(options.proxy, snapshot(), host, ports()));

  return {
    ports,
    snapshot,
    stats: () => ({ http: httpStats, connections, revision: snapshot().revision }),
    // TCP metrics are part of the telemetry's series (Telemetry overrides and expiry apply).
    metrics: () => telemetry.metricsText(),
    settled: () => reconciling,
    async stop() {
      stopped = true;
      stopReports?.();
      await reconciling;
      await Promise.all([...listeners.values()].map((listener) => listener.close(drainMs)));
      listeners.clear();
      await policy.stop();
      await telemetry.stop();
      pool.destroy();
      http2.destroy();
      unfollowRotation?.();
      meshTls?.stop();
    },
  };
}
