import { request } from "node:http";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import type { JWK } from "jose";
import type { Signer } from "../../broker/envelope.ts";
import { createJoinToken } from "../../identity/join-token.ts";
import { TLS_MODE_ISTIO, TLS_MODE_LABEL } from "../../workers/sidecar/mesh-tls.ts";
import { type BenchProcess, startProcess } from "./child-process.ts";
import type { ProxyPair } from "./proxy-peers.ts";

/**
 * The Jibe pair of the data-plane benchmarks: a client sidecar and a server sidecar, each in its
 * own process (sidecar-process.ts) on the real bus, configured through the control plane's admin
 * API like any mesh: a Service `server` whose endpoint (a WorkloadEntry) is the server sidecar's
 * inbound listener. Each variant lives in its own namespace so its policy touches nothing else.
 */

/** The running mesh the sidecars join. */
export interface BenchMesh {
  natsUrl: string;
  adminUrl: string;
  token: string;
  trustJwks: { keys: JWK[] };
  /** The control plane's signing key, for join tokens (mTLS variants). */
  signer: Signer;
}

export interface JibePairOptions {
  name: string;
  namespace: string;
  /** SPIFFE identities from the mesh CA, auto-mTLS, PeerAuthentication STRICT. */
  mtls?: boolean;
  /** Telemetry: `off` (a Telemetry resource disabling metrics and spans), or a trace sampling percentage with spans sent to `otlpEndpoint`; default the sidecar's defaults. */
  telemetry?: "off" | { samplingPercent: number; otlpEndpoint: string };
  /** Body of the readiness probe requests (as the load sends). */
  bodyBytes: number;
  /** The Service port's protocol (its name): `http2` carries both hops and the app's over h2c. Default `http`. */
  protocol?: "http" | "http2";
}

const sidecarScript = join(fileURLToPath(new URL(".", import.meta.url)), "sidecar-process.ts");

/** `Host` the load sends to reach the server through the client sidecar (same namespace). */
export const SERVER_HOST = "server:9080";

/**
 * Starts the pair, applies its resources and waits until a request flows end to end.
 *
 * @example
 * ```ts
 * const pair = await startJibePair(mesh, upstreamPort, { name: "Jibe", namespace: "bench-plain", bodyBytes: 1024 });
 * // POST to pair.url with Host SERVER_HOST
 * ```
 */
export async function startJibePair(
  mesh: BenchMesh,
  upstreamPort: number,
  options: JibePairOptions,
): Promise<ProxyPair> {
  const { namespace } = options;
  const started: BenchProcess[] = [];
  const stop = async () => {
    for (const p of started.reverse()) await p.stop();
  };
  try {
    const sidecar = async (app: string) => {
      const env: Record<string, string> = {
        JIBE_NATS_URL: mesh.natsUrl,
        JIBE_TRUST_JWKS: JSON.stringify(mesh.trustJwks),
        JIBE_APP_PORT: String(upstreamPort),
        JIBE_LABELS: `app=${app}`,
        JIBE_NAMESPACE: namespace,
        JIBE_PROXY_ID: `sidecar~${app}~${namespace}`,
        JIBE_INBOUND_PORT: "0",
        JIBE_OUTBOUND_PORT: "0",
      };
      if (typeof options.telemetry === "object") {
        env.JIBE_TRACE_SAMPLING = String(options.telemetry.samplingPercent);
        env.JIBE_OTLP_ENDPOINT = options.telemetry.otlpEndpoint;
      }
      if (options.mtls) {
        env.JIBE_BENCH_SERVICE_ACCOUNT = app;
        env.JIBE_BENCH_JOIN_TOKEN = await createJoinToken(
          mesh.signer,
          { trustDomain: "cluster.local", namespace, serviceAccount: app },
          { now: Date.now() },
        );
      }
      const { process: proc, firstLine } = await startProcess(process.execPath, [sidecarScript], { env });
      started.push(proc);
      return { process: proc, ports: JSON.parse(firstLine) as { inboundPort: number; outboundPort: number } };
    };
    const server = await sidecar("server");
    const client = await sidecar("client");
    await apply(mesh, resources(options, server.ports.inboundPort));
    const url = `http://127.0.0.1:${client.ports.outboundPort}/`;
    await waitUntilServing(url, SERVER_HOST, options.bodyBytes);
    return { name: options.name, url, pids: [client.process.pid, server.process.pid], stop };
  } catch (error) {
    await stop();
    throw error;
  }
}

function resources(options: JibePairOptions, serverInboundPort: number): object[] {
  const { namespace } = options;
  const labels: Record<string, string> = { app: "server" };
  if (options.mtls) labels[TLS_MODE_LABEL] = TLS_MODE_ISTIO;
  const portName = options.protocol ?? "http";
  const out: object[] = [
    {
      apiVersion: "v1",
      kind: "Service",
      metadata: { name: "server", namespace },
      spec: { selector: { app: "server" }, ports: [{ name: portName, port: 9080 }] },
    },
    {
      apiVersion: "networking.istio.io/v1",
      kind: "WorkloadEntry",
      metadata: { name: "server", namespace },
      spec: { address: "127.0.0.1", labels, ports: { [portName]: serverInboundPort } },
    },
  ];
  if (options.mtls)
    out.push({
      apiVersion: "security.istio.io/v1",
      kind: "PeerAuthentication",
      metadata: { name: "default", namespace },
      spec: { mtls: { mode: "STRICT" } },
    });
  if (options.telemetry === "off")
    out.push({
      apiVersion: "telemetry.istio.io/v1",
      kind: "Telemetry",
      metadata: { name: "off", namespace },
      spec: {
        metrics: [
          { overrides: [{ match: { metric: "ALL_METRICS", mode: "CLIENT_AND_SERVER" }, disabled: true }] },
        ],
        tracing: [{ randomSamplingPercentage: 0, disableSpanReporting: true }],
      },
    });
  return out;
}

/** Applies resources through the control plane's admin API (as `jibe apply`). */
export async function apply(mesh: BenchMesh, documents: object[]): Promise<void> {
  const response = await fetch(`${mesh.adminUrl}/api/v1/apply`, {
    method: "POST",
    headers: { authorization: `Bearer ${mesh.token}`, "content-type": "application/json" },
    body: JSON.stringify(documents),
  });
  if (!response.ok) throw new Error(`bench: apply failed: ${response.status} ${await response.text()}`);
}

/** Waits (up to 20 s) until a POST with `Host: host` through `url` answers 200 with a full body. */
export async function waitUntilServing(url: string, host: string, bodyBytes: number): Promise<void> {
  const started = Date.now();
  let last = "";
  while (Date.now() - started < 20_000) {
    const answer = await post(url, host, bodyBytes).catch((e: unknown) => String(e));
    if (answer === `200 ${bodyBytes} bytes`) return;
    last = answer;
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  throw new Error(`bench: the Jibe pair never served ${host} through ${url}: last answer ${last}`);
}

/** One POST with a given `Host` (fetch may not set it); resolves to "<status> <n> bytes". */
function post(url: string, host: string, bodyBytes: number): Promise<string> {
  return new Promise((resolve, reject) => {
    const req = request(url, { method: "POST", headers: { host }, agent: false }, (res) => {
      let length = 0;
      res.on("data", (chunk: Buffer) => {
        length += chunk.length;
      });
      res.on("end", () => resolve(`${res.statusCode} ${length} bytes`));
      res.on("error", reject);
    });
    req.on("error", reject);
    req.end(Buffer.alloc(bodyBytes, "x"));
  });
}
