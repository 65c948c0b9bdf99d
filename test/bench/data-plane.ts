import { mkdtemp, rm } from "node:fs/promises";
import { cpus, tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { parseDurationMs } from "../../control/model/duration.ts";
import { type BenchProcess, startProcess } from "./child-process.ts";
import { type LoadResult, type LoadSettings, runConstantRate, runWrk } from "./http-load.ts";
import { type BenchMesh, SERVER_HOST, startJibePair } from "./jibe-pair.ts";
import { cpuSeconds, rssMiB } from "./proc-usage.ts";
import {
  missingPeerPackages,
  type ProxyPair,
  startBareNodePair,
  startHaproxyPair,
  startNginxPair,
} from "./proxy-peers.ts";
import { ms, ratio } from "./stats.ts";

/**
 * Data plane: client → proxy A → proxy B → upstream, POST 1 KB / 1 KB answer, keep-alive, at a
 * fixed rate (open loop) and at saturation (wrk), for a direct connection and each proxy pair in
 * the same run against the same upstream process. Settings from the environment:
 * JIBE_BENCH_DURATION (per run, default 15s), JIBE_BENCH_RATE (1000), JIBE_BENCH_CONNECTIONS (32).
 */

/** One peer's figures; CPU and RSS are of its two proxies (none for `direct`). */
export interface PeerResult {
  name: string;
  fixed: LoadResult;
  saturation: LoadResult;
  /** Saturation requests per CPU-second used by the two proxies together. */
  rpsPerProxyCore?: number;
  /** Peak RSS of proxy A and proxy B, MiB. */
  rss?: [number, number];
}

/** A peer to start against the upstream; `undefined` pairs mean a direct connection. */
export type PeerStarter = (ctx: PeerContext) => Promise<ProxyPair | undefined>;

export interface PeerContext {
  upstreamPort: number;
  dir: string;
  settings: LoadSettings;
}

const here = fileURLToPath(new URL(".", import.meta.url));

/** How a benchmark drives its peers: the upstream app and the two load generators. */
export interface PeerLoad {
  /** The upstream app, a script printing `{"port":N}` once listening. */
  upstreamScript: string;
  /** The fixed-rate run (`settings.rate`). */
  fixed(url: string, settings: LoadSettings): Promise<LoadResult>;
  /** The saturation run (also the warm-up, shortened). */
  saturation(url: string, settings: LoadSettings): Promise<LoadResult>;
}

/** HTTP/1.1: the node:http upstream, the open-loop Node generator at a fixed rate, wrk at saturation. */
export const HTTP1_LOAD: PeerLoad = {
  upstreamScript: join(here, "upstream-process.ts"),
  fixed: runConstantRate,
  saturation: runWrk,
};

/** Load settings from the environment; `host` is the mesh name the Jibe pairs answer to. */
export function loadSettingsFromEnv(dir: string): LoadSettings {
  const duration = process.env.JIBE_BENCH_DURATION ?? "15s";
  const durationMs = parseDurationMs(duration);
  if (durationMs === undefined)
    throw new Error(`JIBE_BENCH_DURATION=${duration} is not a duration; use e.g. 15s`);
  return {
    durationMs,
    rate: Number(process.env.JIBE_BENCH_RATE ?? 1000),
    connections: Number(process.env.JIBE_BENCH_CONNECTIONS ?? 32),
    bodyBytes: 1024,
    host: SERVER_HOST,
    dir,
  };
}

/**
 * Runs every peer in turn against one upstream: warm-up, fixed rate, saturation; CPU over the
 * saturation run, peak RSS after it. Each peer is stopped before the next starts.
 */
export async function measurePeers(
  peers: ReadonlyArray<{ name: string; start: PeerStarter }>,
  load: PeerLoad = HTTP1_LOAD,
): Promise<{ rows: PeerResult[]; settings: LoadSettings }> {
  const dir = await mkdtemp(join(tmpdir(), "jibe-bench-dp-"));
  const settings = loadSettingsFromEnv(dir);
  let upstream: BenchProcess | undefined;
  try {
    const started = await startProcess(process.execPath, [load.upstreamScript]);
    upstream = started.process;
    const upstreamPort = (JSON.parse(started.firstLine) as { port: number }).port;
    const rows: PeerResult[] = [];
    for (const peer of peers) {
      console.log(`  ${peer.name} ...`);
      const pair = await peer.start({ upstreamPort, dir, settings });
      try {
        const url = pair?.url ?? `http://127.0.0.1:${upstreamPort}/`;
        await load.saturation(url, { ...settings, durationMs: Math.min(2_000, settings.durationMs) }); // warm-up
        const fixed = await load.fixed(url, settings);
        const cpuBefore = pair ? await sumCpu(pair.pids) : 0;
        const saturation = await load.saturation(url, settings);
        const row: PeerResult = { name: peer.name, fixed, saturation };
        if (pair) {
          const cpu = (await sumCpu(pair.pids)) - cpuBefore;
          row.rpsPerProxyCore = saturation.requests / cpu;
          row.rss = [(await rssMiB(pair.pids[0])).peak, (await rssMiB(pair.pids[1])).peak];
        }
        console.log(
          `    fixed p50 ${ms(fixed.p50)} p99 ${ms(fixed.p99)} ms | saturation ${saturation.rps.toFixed(0)} rps p99 ${ms(saturation.p99)} ms`,
        );
        rows.push(row);
      } finally {
        await pair?.stop();
      }
    }
    return { rows, settings };
  } finally {
    await upstream?.stop();
    await rm(dir, { recursive: true, force: true });
  }
}

async function sumCpu(pids: readonly number[]): Promise<number> {
  let total = 0;
  for (const pid of pids) total += await cpuSeconds(pid);
  return total;
}

/** The peers of the plain data-plane benchmark: direct, Jibe, HAProxy, nginx. */
export function plainPeers(mesh: BenchMesh): Array<{ name: string; start: PeerStarter }> {
  const namespace = "bench-plain";
  return [
    { name: "direct", start: async () => undefined },
    {
      name: "Jibe",
      start: (ctx) =>
        startJibePair(mesh, ctx.upstreamPort, { name: "Jibe", namespace, bodyBytes: ctx.settings.bodyBytes }),
    },
    { name: "HAProxy", start: (ctx) => startHaproxyPair(join(ctx.dir, "haproxy"), ctx.upstreamPort) },
    { name: "nginx", start: (ctx) => startNginxPair(join(ctx.dir, "nginx"), ctx.upstreamPort) },
    { name: "bare Node", start: (ctx) => startBareNodePair(ctx.upstreamPort) },
  ];
}

/** Peer results with their load settings, or why the peers could not run. */
export type PeersOutcome = { rows: PeerResult[]; settings: LoadSettings } | { skipped: string };

/** Runs the plain data-plane benchmark (skipped, with a message, when a peer is not installed). */
export async function measureDataPlane(mesh: BenchMesh): Promise<PeersOutcome> {
  const missing = await missingPeerPackages();
  if (missing.length > 0) return { skipped: missingMessage(missing) };
  return measurePeers(plainPeers(mesh));
}

/** What to print when the peers cannot run. */
export function missingMessage(missing: readonly string[]): string {
  return `skipped: ${missing.join(", ")} not installed; install the Debian packages with \`apt-get install ${missing.join(" ")}\` and rerun`;
}

/**
 * Markdown tables for a set of peer results: fixed rate, saturation, and the `subject` peer's
 * ratios to every other peer (`invert`: every other peer's ratios to the subject). `added`
 * latency is the peer's percentile minus direct's.
 */
export function renderPeerTables(
  rows: readonly PeerResult[],
  subject: string,
  settings?: LoadSettings,
  options: PeerTableOptions = {},
): string[] {
  const direct = rows.find((r) => r.name === "direct");
  const added = (value: number, base: number | undefined) =>
    base === undefined ? "n/a" : `${ms(value - base)} ms`;
  const mine = rows.find((r) => r.name === subject);
  const cfg = settings
    ? `${settings.durationMs / 1000} s per run, ${options.concurrency ?? `${settings.connections} keep-alive connections`}, ${settings.bodyBytes} B POST bodies and answers, ${cpus().length} cores shared by load, proxies and upstream.`
    : "";
  return [
    cfg,
    "",
    ...(options.fixedNote ?? [
      `Fixed rate (${settings?.rate ?? "?"} rps, open loop, latency from the scheduled send; "overloaded": the`,
      "peer could not keep up with the rate, so its latency is queueing):",
    ]),
    "",
    "| peer | achieved rps | p50 | p90 | p99 | added p50 | added p90 | added p99 | errors |",
    "|---|---:|---:|---:|---:|---:|---:|---:|---:|",
    ...rows.map(
      (r) =>
        `| ${r.name}${settings && r.fixed.rps < 0.95 * settings.rate ? " (overloaded)" : ""} | ${r.fixed.rps.toFixed(0)} | ${ms(r.fixed.p50)} ms | ${ms(r.fixed.p90)} ms | ${ms(r.fixed.p99)} ms | ${added(r.fixed.p50, direct?.fixed.p50)} | ${added(r.fixed.p90, direct?.fixed.p90)} | ${added(r.fixed.p99, direct?.fixed.p99)} | ${r.fixed.errors} |`,
    ),
    "",
    options.saturationNote ??
      "Saturation (wrk, one thread; latency here is mostly queueing, so compare throughput):",
    "",
    "| peer | rps | p50 | p90 | p99 | rps per proxy core | peak RSS A / B | errors |",
    "|---|---:|---:|---:|---:|---:|---:|---:|",
    ...rows.map(
      (r) =>
        `| ${r.name} | ${r.saturation.rps.toFixed(0)} | ${ms(r.saturation.p50)} ms | ${ms(r.saturation.p90)} ms | ${ms(r.saturation.p99)} ms | ${r.rpsPerProxyCore === undefined ? "" : r.rpsPerProxyCore.toFixed(0)} | ${r.rss ? `${r.rss[0].toFixed(0)} / ${r.rss[1].toFixed(0)} MiB` : ""} | ${r.saturation.errors} |`,
    ),
    "",
    ...(mine ? renderRatios(rows, mine, direct, options.invert === true) : []),
  ];
}

/** How {@link renderPeerTables} presents its tables. */
export interface PeerTableOptions {
  /** Ratios of every other peer to the subject instead of the subject's to each. */
  invert?: boolean;
  /** Lines introducing the fixed-rate table (default: the open-loop HTTP/1.1 generator's). */
  fixedNote?: string[];
  /** The line introducing the saturation table (default: wrk's). */
  saturationNote?: string;
  /** How the load's concurrency is described (default: `<connections> keep-alive connections`). */
  concurrency?: string;
}

/**
 * The markdown section for the plain data plane; `h2` adds the HTTP/2 subsection
 * (`renderDataPlaneH2` of data-plane-h2.ts, already rendered).
 */
export function renderDataPlane(outcome: PeersOutcome, h2?: string): string {
  return [
    "## Data plane: two-hop proxy pair",
    "",
    "client → proxy A → proxy B → upstream (a small Node HTTP server in its own process, the same for",
    "every peer). Jibe: two sidecars, each its own Node process, on the real bus with the control",
    "plane (the client sidecar's outbound listener routes `server` to the server sidecar's inbound",
    "listener), default telemetry (metrics on, 1% trace sampling, no span exporter). HAProxy",
    "(nbthread 1) and nginx (1 worker) as the same pair. Each proxy is one thread. `bare Node` is the",
    "smallest node:http pass-through pair (no routing, policy, telemetry): what Node itself costs.",
    "",
    ...renderOutcome(outcome, "Jibe"),
    ...(h2 === undefined ? [] : [h2]),
  ].join("\n");
}

/** The tables of an outcome, or its skip message. */
export function renderOutcome(
  outcome: PeersOutcome,
  subject: string,
  options: PeerTableOptions = {},
): string[] {
  return "skipped" in outcome
    ? [outcome.skipped, ""]
    : renderPeerTables(outcome.rows, subject, outcome.settings, options);
}

function renderRatios(
  rows: readonly PeerResult[],
  subject: PeerResult,
  direct: PeerResult | undefined,
  invert: boolean,
): string[] {
  const others = rows.filter((r) => r !== subject && (!invert || r !== direct));
  const pairs = others.map((r): [PeerResult, PeerResult] => (invert ? [r, subject] : [subject, r]));
  const rss = (x: PeerResult) => (x.rss ? x.rss[0] + x.rss[1] : Number.NaN);
  // An added latency at or below zero is within noise: no meaningful ratio.
  const addedRatio = (a: PeerResult, b: PeerResult, p: "p50" | "p99") => {
    if (!direct || a === direct || b === direct) return "n/a";
    const [x, y] = [a.fixed[p] - direct.fixed[p], b.fixed[p] - direct.fixed[p]];
    return x > 0 && y > 0 ? ratio(x, y) : "n/a";
  };
  return [
    invert
      ? `Each peer relative to ${subject.name} (same run; > 1× means higher than ${subject.name}):`
      : `${subject.name} relative to each peer (same run; > 1× means ${subject.name} is higher):`,
    "",
    "| ratio | saturation rps | rps per proxy core | added p50 @ fixed | added p99 @ fixed | saturation p99 | peak RSS (A+B) |",
    "|---|---:|---:|---:|---:|---:|---:|",
    ...pairs.map(
      ([a, b]) =>
        `| ${a.name} / ${b.name} | ${ratio(a.saturation.rps, b.saturation.rps)} | ${ratio(a.rpsPerProxyCore ?? Number.NaN, b.rpsPerProxyCore ?? Number.NaN)} | ${addedRatio(a, b, "p50")} | ${addedRatio(a, b, "p99")} | ${ratio(a.saturation.p99, b.saturation.p99)} | ${ratio(rss(a), rss(b))} |`,
    ),
    "",
  ];
}
