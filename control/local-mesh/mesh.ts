import { mkdtemp, rm } from "node:fs/promises";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { NatsConnection } from "@nats-io/nats-core";
import type { Signer } from "../../broker/envelope.ts";
import { createVerifier } from "../../broker/envelope.ts";
import type { Logger } from "../../broker/logger.ts";
import { connectNats } from "../../broker/nats-connection.ts";
import { resolveNatsServer } from "../../broker/nats-launcher.ts";
import { loadOrCreateSigningKey } from "../../broker/signing-key-file.ts";
import { createJoinToken } from "../../identity/join-token.ts";
import { startWorkloadIdentity } from "../../identity/workload-identity.ts";
import { startSampleService } from "../../infra/samples/bookinfo/index.ts";
import { startEdgeWorker } from "../../workers/edge/dev-server.ts";
import { startGateway } from "../../workers/gateway/gateway.ts";
import { readTelemetryEnv, startSidecar } from "../../workers/sidecar/index.ts";
import { startControlPlane } from "../plane/index.ts";
import {
  BOOKINFO_WORKLOADS,
  EDGE_GATEWAY,
  INGRESS_GATEWAY_LABELS,
  INGRESS_GATEWAY_PORT,
  renderEdgeRoute,
  renderIngressGateway,
  renderServices,
  renderWorkloadEntry,
  type SampleWorkload,
} from "./bookinfo-topology.ts";
import { startPreloadedSample } from "./sample-process.ts";

/** wrangler log levels for the edge worker. */
export type EdgeLogLevel = "debug" | "info" | "log" | "warn" | "error" | "none";

/** Options of {@link startLocalMesh}; every port may be 0 (pick a free one). */
export interface LocalMeshOptions {
  /** Control-plane state (signing key, admin token). Default: a fresh temp dir. */
  home?: string;
  adminPort?: number;
  edgePort?: number;
  /** Start the edge worker in workerd (default true). */
  edge?: boolean;
  /**
   * Local port of the Node ingress gateway serving Istio's bookinfo Gateway (server port 8080);
   * 0 picks a free one. Default: no ingress gateway.
   */
  gatewayPort?: number;
  namespace?: string;
  host?: string;
  /** wrangler's log level for the edge worker (default "error": its per-request log is noisy). */
  edgeLogLevel?: EdgeLogLevel;
  log?: Logger;
  /** OTLP/HTTP traces endpoint for sidecars and the edge; default `$JIBE_OTLP_ENDPOINT` (none: no spans). */
  otlpEndpoint?: string;
  /**
   * How the sample apps run: `in-process`, copying trace headers themselves as Istio asks (default),
   * or `preload`: one Node process each that copies none, started with `--import jibe/propagation`.
   */
  sampleApps?: "in-process" | "preload";
}

/** A running workload: sample app + its sidecar. */
export interface RunningWorkload extends SampleWorkload {
  appPort: number;
  inboundPort: number;
  outboundPort: number;
  /** The sidecar's admin port: `/stats/prometheus` for Prometheus, `/stats`, `/config_dump`. */
  adminPort: number;
  /** Stops the sidecar only (the app keeps running), e.g. to test restarts. */
  stopSidecar(): Promise<void>;
  /** Starts the sidecar again on the same ports. */
  restartSidecar(): Promise<void>;
}

/** Handle on the whole local mesh. */
export interface LocalMesh {
  natsUrl: string;
  natsWsUrl: string;
  adminUrl: string;
  token: string;
  home: string;
  edgeUrl?: string;
  /** The Node ingress gateway (Istio's bookinfo Gateway), when started. */
  gatewayUrl?: string;
  /** Istio metrics of the ingress gateway, in the Prometheus text format. */
  gatewayMetrics?: () => Promise<string>;
  workloads: RunningWorkload[];
  nc: NatsConnection;
  stop(): Promise<void>;
}

/**
 * Starts nats-server, the control plane, the bookinfo sample (each instance behind a sidecar) and
 * the edge worker, then registers the sample's Services, WorkloadEntries and edge route.
 *
 * @example
 * ```ts
 * const mesh = await startLocalMesh({ adminPort: 0, edgePort: 0 });
 * const page = await fetch(`${mesh.edgeUrl}/productpage`).then((r) => r.json());
 * await mesh.stop();
 * ```
 */
export async function startLocalMesh(options: LocalMeshOptions = {}): Promise<LocalMesh> {
  const namespace = options.namespace ?? "default";
  const host = options.host ?? "127.0.0.1";
  const log = options.log ?? quietLogger;
  const cleanups: Array<() => Promise<void>> = [];
  const stop = async () => {
    for (const cleanup of cleanups.reverse()) await cleanup().catch((e) => log.warn(`stop: ${String(e)}`));
  };
  try {
    const otlpEndpoint = options.otlpEndpoint ?? process.env.JIBE_OTLP_ENDPOINT;
    const ownHome = options.home === undefined;
    const home = options.home ?? (await mkdtemp(join(tmpdir(), "jibe-home-")));
    if (ownHome) cleanups.push(() => rm(home, { recursive: true, force: true }));

    const nats = await resolveNatsServer();
    cleanups.push(() => nats.stop());
    if (!nats.wsUrl) throw new Error("the NATS server has no WebSocket listener; set JIBE_NATS_WS_URL");
    const nc = await connectNats(nats.url);
    cleanups.push(() => nc.drain().catch(() => nc.close()));

    const control = await startControlPlane({
      nc,
      home,
      admin: { host, port: options.adminPort ?? 15000 },
      log,
      // The mesh CA (identity/): every sidecar gets a SPIFFE certificate over the bus and speaks mTLS.
      identity: {},
    });
    cleanups.push(() => control.stop());
    const verifier = await createVerifier(control.trustJwks);
    // Signs the sample workloads' join tokens.
    const { signer } = await loadOrCreateSigningKey(home);

    const deps = { nc, verifier, signer, namespace, host, log };
    const workloads: RunningWorkload[] = [];
    for (const workload of BOOKINFO_WORKLOADS) {
      const running = await startWorkload(workload, {
        ...deps,
        sampleApps: options.sampleApps ?? "in-process",
        ...(otlpEndpoint ? { otlpEndpoint } : {}),
      });
      cleanups.push(() => running.stopAll());
      workloads.push(running.handle);
    }

    const resources = [
      ...renderServices(namespace),
      ...workloads.map((w) => renderWorkloadEntry(w, namespace, host, w.inboundPort)),
      renderEdgeRoute(namespace),
      ...(options.gatewayPort === undefined ? [] : [renderIngressGateway(namespace)]),
    ];
    await applyJson(control.adminUrl, control.token, resources);

    let gateway: Awaited<ReturnType<typeof startIngressGateway>> | undefined;
    if (options.gatewayPort !== undefined) {
      gateway = await startIngressGateway(options.gatewayPort, deps);
      cleanups.push(() => gateway?.stop() ?? Promise.resolve());
    }

    let edgeUrl: string | undefined;
    if (options.edge !== false) {
      const edge = await startEdgeWorker({
        natsWsUrl: nats.wsUrl,
        trustJwks: control.trustJwks,
        port: options.edgePort ?? 8787,
        host,
        namespace,
        gateways: [`${namespace}/${EDGE_GATEWAY}`],
        logLevel: options.edgeLogLevel ?? "error",
        // Demo profile: every trace sampled, as for the sidecars.
        telemetry: {
          JIBE_TRACE_SAMPLING: process.env.JIBE_TRACE_SAMPLING ?? "100",
          ...(otlpEndpoint ? { JIBE_OTLP_ENDPOINT: otlpEndpoint } : {}),
        },
      });
      cleanups.push(() => edge.stop());
      edgeUrl = edge.url;
    }

    return {
      natsUrl: nats.url,
      natsWsUrl: nats.wsUrl,
      adminUrl: control.adminUrl,
      token: control.token,
      home,
      edgeUrl,
      ...(gateway ? { gatewayUrl: gateway.url, gatewayMetrics: gateway.metrics } : {}),
      workloads,
      nc,
      stop,
    };
  } catch (error) {
    await stop();
    throw error;
  }
}

interface WorkloadDeps {
  nc: NatsConnection;
  verifier: Awaited<ReturnType<typeof createVerifier>>;
  /** Signs the workload's join token (the control plane's key). */
  signer: Signer;
  namespace: string;
  host: string;
  log: Logger;
  sampleApps: "in-process" | "preload";
  otlpEndpoint?: string;
}

async function startWorkload(workload: SampleWorkload, deps: WorkloadDeps) {
  // The app needs its sidecar's outbound URL and the sidecar needs the app's port: reserve the
  // outbound port first, then start app, then sidecar on the reserved port.
  const outboundPort = await reserveFreePort(deps.host);
  const outboundUrl = `http://${deps.host}:${outboundPort}`;
  const app =
    deps.sampleApps === "preload"
      ? await startPreloadedSample(workload, outboundUrl, deps.host)
      : await startSampleService({
          service: workload.service,
          version: workload.version,
          port: 0,
          outboundUrl,
        });
  const identity = await startJoinedIdentity(`bookinfo-${workload.service}`, deps);
  const proxy = {
    id: `sidecar~${workload.service}-${workload.version}~${deps.namespace}`,
    role: "sidecar" as const,
    namespace: deps.namespace,
    labels: { app: workload.service, version: workload.version },
  };
  const launch = (inboundPort: number, adminPort: number) =>
    startSidecar({
      nc: deps.nc,
      verifier: deps.verifier,
      proxy,
      appPort: app.port,
      inboundPort,
      outboundPort,
      adminPort,
      host: deps.host,
      identity: identity.client,
      log: deps.log,
      // Demo profile: trace every request.
      telemetry: readTelemetryEnv(
        { ...process.env, ...(deps.otlpEndpoint ? { JIBE_OTLP_ENDPOINT: deps.otlpEndpoint } : {}) },
        { samplingPercentage: 100 },
      ),
    });
  let sidecar: Awaited<ReturnType<typeof startSidecar>> | undefined = await launch(0, 0);
  const inboundPort = sidecar.inboundPort;
  const adminPort = sidecar.adminPort ?? 0;
  const handle: RunningWorkload = {
    ...workload,
    appPort: app.port,
    inboundPort,
    outboundPort,
    adminPort,
    async stopSidecar() {
      await sidecar?.stop();
      sidecar = undefined;
    },
    async restartSidecar() {
      if (!sidecar) sidecar = await launch(inboundPort, adminPort);
    },
  };
  return {
    handle,
    async stopAll() {
      await sidecar?.stop();
      identity.stop();
      await app.stop();
    },
  };
}

/**
 * The Node ingress gateway (labels `istio: ingressgateway`) with its own mesh identity, so it
 * reaches the sidecars over mTLS; resolves once it listens on the Gateway's port.
 */
async function startIngressGateway(
  port: number,
  deps: Pick<WorkloadDeps, "nc" | "verifier" | "signer" | "namespace" | "host" | "log">,
) {
  const identity = await startJoinedIdentity("jibe-ingressgateway", deps);
  try {
    const gateway = await startGateway({
      nc: deps.nc,
      verifier: deps.verifier,
      proxy: {
        id: `router~jibe-ingressgateway~${deps.namespace}`,
        role: "gateway",
        namespace: deps.namespace,
        labels: { ...INGRESS_GATEWAY_LABELS },
      },
      host: deps.host,
      bindPort: (serverPort) => (serverPort === INGRESS_GATEWAY_PORT ? port : serverPort),
      identity: identity.client,
      telemetry: readTelemetryEnv(process.env, { samplingPercentage: 100 }),
      log: deps.log,
    });
    // Listeners open as the Gateway resource arrives over the bus.
    const deadline = Date.now() + 10_000;
    while (gateway.ports()[INGRESS_GATEWAY_PORT] === undefined && Date.now() < deadline) {
      await gateway.settled();
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
    const bound = gateway.ports()[INGRESS_GATEWAY_PORT];
    if (bound === undefined) {
      await gateway.stop();
      throw new Error(`the ingress gateway did not open port ${INGRESS_GATEWAY_PORT} within 10 s`);
    }
    return {
      url: `http://${deps.host}:${bound}`,
      metrics: () => gateway.metrics(),
      async stop() {
        await gateway.stop();
        identity.stop();
      },
    };
  } catch (error) {
    identity.stop();
    throw error;
  }
}

/** A mesh identity for a service account, joined with a token the control plane's key signs. */
async function startJoinedIdentity(
  serviceAccount: string,
  deps: Pick<WorkloadDeps, "nc" | "verifier" | "signer" | "namespace" | "log">,
) {
  const id = { trustDomain: "cluster.local", namespace: deps.namespace, serviceAccount };
  const token = await createJoinToken(deps.signer, id, { now: Date.now() });
  return startWorkloadIdentity({
    nc: deps.nc,
    id,
    credential: { type: "join-token", token },
    verifier: deps.verifier,
    crypto: globalThis.crypto,
    log: deps.log,
  });
}

async function applyJson(adminUrl: string, token: string, resources: object[]): Promise<void> {
  const response = await fetch(`${adminUrl}/api/v1/apply`, {
    method: "POST",
    headers: { authorization: `Bearer ${token}`, "content-type": "application/json" },
    body: JSON.stringify(resources),
  });
  if (!response.ok)
    throw new Error(`applying the sample resources failed: ${response.status} ${await response.text()}`);
}

/** Finds a free TCP port by binding port 0; the tiny race window is acceptable on a local box. */
async function reserveFreePort(host: string): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once("error", reject);
    server.listen(0, host, () => {
      const address = server.address();
      const port = typeof address === "object" && address ? address.port : 0;
      server.close(() => resolve(port));
    });
  });
}

const quietLogger: Logger = { debug() {}, info() {}, warn: console.warn, error: console.error };
