import { mkdir, mkdtemp, rm, writeFile } from "node:fs/promises";
import { cpus, tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { type BenchProcess, freePort, startProcess } from "./child-process.ts";
import { HTTP1_LOAD, loadSettingsFromEnv, missingMessage } from "./data-plane.ts";
import type { LoadResult, LoadSettings } from "./http-load.ts";
import { apply, type BenchMesh, SERVER_HOST, waitUntilServing } from "./jibe-pair.ts";
import { cpuSeconds, rssMiB } from "./proc-usage.ts";
import { missingPeerPackages, startNginxHop } from "./proxy-peers.ts";
import { ms, ratio } from "./stats.ts";

/**
 * Ingress gateway: client → one proxy → upstream, the Node gateway serving a Gateway API Gateway
 * (HTTP listener, one HTTPRoute) against HAProxy and nginx as the same single proxy and a direct
 * connection, in the same run against the same upstream process; the load and settings of the
 * data-plane benchmark (POST 1 KB / 1 KB answer, keep-alive, fixed rate then wrk at saturation).
 */

/** A single proxy in front of the upstream. */
interface SingleProxy {
  url: string;
  pid: number;
  stop(): Promise<void>;
}

/** One peer's figures; CPU and RSS are its proxy's (none for `direct`). */
export interface GatewayPeerResult {
  name: string;
  fixed: LoadResult;
  saturation: LoadResult;
  rpsPerProxyCore?: number;
  rssMiB?: number;
}

export type GatewayBenchOutcome = { rows: GatewayPeerResult[]; settings: LoadSettings } | { skipped: string };

const gatewayScript = join(fileURLToPath(new URL(".", import.meta.url)), "gateway-process.ts");
const NAMESPACE = "bench-gateway";

/**
 * Runs direct, the Node gateway, HAProxy and nginx in turn (skipped with a message when a Debian
 * peer is missing).
 *
 * @example
 * ```ts
 * const outcome = await measureGatewayBench(mesh);
 * console.log(renderGatewayBench(outcome));
 * ```
 */
export async function measureGatewayBench(mesh: BenchMesh): Promise<GatewayBenchOutcome> {
  const missing = await missingPeerPackages();
  if (missing.length > 0) return { skipped: missingMessage(missing) };
  const dir = await mkdtemp(join(tmpdir(), "jibe-bench-gw-"));
  const settings = loadSettingsFromEnv(dir);
  let upstream: BenchProcess | undefined;
  try {
    const started = await startProcess(process.execPath, [HTTP1_LOAD.upstreamScript]);
    upstream = started.process;
    const upstreamPort = (JSON.parse(started.firstLine) as { port: number }).port;
    const peers: Array<{ name: string; start: () => Promise<SingleProxy | undefined> }> = [
      { name: "direct", start: async () => undefined },
      { name: "Jibe gateway", start: () => startJibeGateway(mesh, upstreamPort, settings.bodyBytes) },
      { name: "HAProxy", start: () => startHaproxy(join(dir, "haproxy"), upstreamPort) },
      { name: "nginx", start: () => startNginx(join(dir, "nginx"), upstreamPort) },
    ];
    const rows: GatewayPeerResult[] = [];
    for (const peer of peers) {
      console.log(`  ${peer.name} ...`);
      const proxy = await peer.start();
      try {
        const url = proxy?.url ?? `http://127.0.0.1:${upstreamPort}/`;
        await HTTP1_LOAD.saturation(url, { ...settings, durationMs: Math.min(2_000, settings.durationMs) });
        const fixed = await HTTP1_LOAD.fixed(url, settings);
        const cpuBefore = proxy ? await cpuSeconds(proxy.pid) : 0;
        const saturation = await HTTP1_LOAD.saturation(url, settings);
        const row: GatewayPeerResult = { name: peer.name, fixed, saturation };
        if (proxy) {
          row.rpsPerProxyCore = saturation.requests / ((await cpuSeconds(proxy.pid)) - cpuBefore);
          row.rssMiB = (await rssMiB(proxy.pid)).peak;
        }
        console.log(
          `    fixed p50 ${ms(fixed.p50)} p99 ${ms(fixed.p99)} ms | saturation ${saturation.rps.toFixed(0)} rps p99 ${ms(saturation.p99)} ms`,
        );
        rows.push(row);
      } finally {
        await proxy?.stop();
      }
    }
    return { rows, settings };
  } finally {
    await upstream?.stop();
    await rm(dir, { recursive: true, force: true });
  }
}

/** The Node gateway process implementing Gateway `bench-gateway/web`: one HTTP listener, one HTTPRoute. */
async function startJibeGateway(
  mesh: BenchMesh,
  upstreamPort: number,
  bodyBytes: number,
): Promise<SingleProxy> {
  const port = await freePort();
  const { process: proc } = await startProcess(process.execPath, [gatewayScript], {
    env: {
      JIBE_NATS_URL: mesh.natsUrl,
      JIBE_TRUST_JWKS: JSON.stringify(mesh.trustJwks),
      JIBE_NAMESPACE: NAMESPACE,
      JIBE_LABELS: "app=bench-gateway",
      JIBE_PROXY_ID: `gateway~bench~${NAMESPACE}`,
      JIBE_GATEWAYS: `${NAMESPACE}/web`,
      JIBE_GATEWAY_HOST: "127.0.0.1",
    },
  });
  try {
    await apply(mesh, [
      {
        apiVersion: "v1",
        kind: "Service",
        metadata: { name: "server", namespace: NAMESPACE },
        spec: { selector: { app: "server" }, ports: [{ name: "http", port: 9080 }] },
      },
      {
        apiVersion: "networking.istio.io/v1",
        kind: "WorkloadEntry",
        metadata: { name: "server", namespace: NAMESPACE },
        spec: { address: "127.0.0.1", labels: { app: "server" }, ports: { http: upstreamPort } },
      },
      {
        apiVersion: "gateway.networking.k8s.io/v1",
        kind: "Gateway",
        metadata: { name: "web", namespace: NAMESPACE },
        spec: { gatewayClassName: "jibe", listeners: [{ name: "http", port, protocol: "HTTP" }] },
      },
      {
        apiVersion: "gateway.networking.k8s.io/v1",
        kind: "HTTPRoute",
        metadata: { name: "server", namespace: NAMESPACE },
        spec: { parentRefs: [{ name: "web" }], rules: [{ backendRefs: [{ name: "server", port: 9080 }] }] },
      },
    ]);
    const url = `http://127.0.0.1:${port}/`;
    await waitUntilServing(url, SERVER_HOST, bodyBytes);
    return { url, pid: proc.pid, stop: () => proc.stop() };
  } catch (error) {
    await proc.stop();
    throw error;
  }
}

/** HAProxy as one proxy (nbthread 1, keep-alive both sides), as the data-plane pair's hops. */
async function startHaproxy(dir: string, upstreamPort: number): Promise<SingleProxy> {
  await mkdir(dir, { recursive: true });
  const port = await freePort();
  const file = join(dir, "haproxy.cfg");
  await writeFile(
    file,
    [
      "global",
      "  nbthread 1",
      "  maxconn 4096",
      "defaults",
      "  mode http",
      "  option http-keep-alive",
      "  timeout connect 5s",
      "  timeout client 60s",
      "  timeout server 60s",
      "frontend in",
      `  bind 127.0.0.1:${port}`,
      "  default_backend next",
      "backend next",
      "  http-reuse always",
      `  server next 127.0.0.1:${upstreamPort}`,
      "",
    ].join("\n"),
  );
  const { process: proc } = await startProcess("haproxy", ["-db", "-f", file], { settleMs: 300 });
  return { url: `http://127.0.0.1:${port}/`, pid: proc.pid, stop: () => proc.stop() };
}

/** nginx as one proxy (master + 1 worker, access log off, upstream keep-alive). */
async function startNginx(dir: string, upstreamPort: number): Promise<SingleProxy> {
  await mkdir(dir, { recursive: true });
  const port = await freePort();
  const proc = await startNginxHop(dir, "nginx", port, upstreamPort);
  return { url: `http://127.0.0.1:${port}/`, pid: proc.pid, stop: () => proc.stop() };
}

/**
 * The `## Ingress gateway` section: fixed-rate and saturation tables, and the Node gateway's
 * ratios to HAProxy and nginx.
 */
export function renderGatewayBench(outcome: GatewayBenchOutcome): string {
  const head = [
    "## Ingress gateway: one proxy",
    "",
    "client → gateway → upstream (the data-plane benchmark's upstream process and load). Jibe: the",
    "Node ingress gateway (`workers/gateway`, its own process) implementing a Gateway API Gateway",
    "(`JIBE_GATEWAYS`) with one HTTP listener and one HTTPRoute, on the real bus with the control",
    "plane, default telemetry. HAProxy (nbthread 1) and nginx (1 worker) as the same single proxy.",
    "",
  ];
  if ("skipped" in outcome) return [...head, outcome.skipped, ""].join("\n");
  const { rows, settings } = outcome;
  const direct = rows.find((r) => r.name === "direct");
  const added = (v: number, base?: number) => (base === undefined ? "n/a" : `${ms(v - base)} ms`);
  const jibe = rows.find((r) => r.name === "Jibe gateway");
  const addedRatio = (a: GatewayPeerResult, b: GatewayPeerResult, p: "p50" | "p99") => {
    if (!direct) return "n/a";
    const [x, y] = [a.fixed[p] - direct.fixed[p], b.fixed[p] - direct.fixed[p]];
    return x > 0 && y > 0 ? ratio(x, y) : "n/a";
  };
  return [
    ...head,
    `${settings.durationMs / 1000} s per run, ${settings.connections} keep-alive connections, ${settings.bodyBytes} B POST bodies and answers, ${cpus().length} cores shared by load, proxy and upstream.`,
    "",
    `Fixed rate (${settings.rate} rps, open loop, latency from the scheduled send):`,
    "",
    "| peer | achieved rps | p50 | p90 | p99 | added p50 | added p90 | added p99 | errors |",
    "|---|---:|---:|---:|---:|---:|---:|---:|---:|",
    ...rows.map(
      (r) =>
        `| ${r.name}${r.fixed.rps < 0.95 * settings.rate ? " (overloaded)" : ""} | ${r.fixed.rps.toFixed(0)} | ${ms(r.fixed.p50)} ms | ${ms(r.fixed.p90)} ms | ${ms(r.fixed.p99)} ms | ${added(r.fixed.p50, direct?.fixed.p50)} | ${added(r.fixed.p90, direct?.fixed.p90)} | ${added(r.fixed.p99, direct?.fixed.p99)} | ${r.fixed.errors} |`,
    ),
    "",
    "Saturation (wrk, one thread):",
    "",
    "| peer | rps | p50 | p90 | p99 | rps per proxy core | peak RSS | errors |",
    "|---|---:|---:|---:|---:|---:|---:|---:|",
    ...rows.map(
      (r) =>
        `| ${r.name} | ${r.saturation.rps.toFixed(0)} | ${ms(r.saturation.p50)} ms | ${ms(r.saturation.p90)} ms | ${ms(r.saturation.p99)} ms | ${r.rpsPerProxyCore?.toFixed(0) ?? ""} | ${r.rssMiB === undefined ? "" : `${r.rssMiB.toFixed(0)} MiB`} | ${r.saturation.errors} |`,
    ),
    "",
    ...(jibe
      ? [
          "Jibe gateway relative to each peer (same run; > 1× means the Jibe gateway is higher):",
          "",
          "| ratio | saturation rps | rps per proxy core | added p50 @ fixed | added p99 @ fixed | peak RSS |",
          "|---|---:|---:|---:|---:|---:|",
          ...rows
            .filter((r) => r !== jibe && r !== direct)
            .map(
              (r) =>
                `| Jibe gateway / ${r.name} | ${ratio(jibe.saturation.rps, r.saturation.rps)} | ${ratio(jibe.rpsPerProxyCore ?? Number.NaN, r.rpsPerProxyCore ?? Number.NaN)} | ${addedRatio(jibe, r, "p50")} | ${addedRatio(jibe, r, "p99")} | ${ratio(jibe.rssMiB ?? Number.NaN, r.rssMiB ?? Number.NaN)} |`,
            ),
          ...(direct
            ? [`| Jibe gateway / direct | ${ratio(jibe.saturation.rps, direct.saturation.rps)} | | | | |`]
            : []),
          "",
        ]
      : []),
  ].join("\n");
}
