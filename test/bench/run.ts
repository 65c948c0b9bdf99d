import { mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { cpus, tmpdir, totalmem } from "node:os";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { connectNats } from "../../broker/nats-connection.ts";
import { startNatsServer } from "../../broker/nats-launcher.ts";
import { loadOrCreateSigningKey } from "../../broker/signing-key-file.ts";
import { startControlPlane } from "../../control/plane/index.ts";
import { measureAuthz, renderAuthzResults } from "./authz.ts";
import { measureCertSigning, renderCertSigning } from "./cert-signing.ts";
import { type ConvergenceResult, measureConvergence } from "./convergence.ts";
import { measureDataPlane, renderDataPlane } from "./data-plane.ts";
import { measureDataPlaneH2, renderDataPlaneH2 } from "./data-plane-h2.ts";
import { measureEdgeAuthz, renderEdgeAuthzResults } from "./edge-authz.ts";
import { measureGatewayBench, renderGatewayBench } from "./gateway-bench.ts";
import { measureMtls, renderMtls } from "./mtls.ts";
import { mergeResults } from "./results-file.ts";
import { measureRouteLookup, renderRouteLookup } from "./route-lookup.ts";
import { ms, ratio } from "./stats.ts";
import { measureTelemetryOverhead, renderTelemetryOverhead } from "./telemetry-overhead.ts";

/**
 * `npm run bench`: runs every benchmark with its peers in the same run and writes
 * test/bench/RESULTS.md. Sizes: JIBE_BENCH_PROXIES (default "100,1000"), JIBE_BENCH_ROUNDS (20).
 * JIBE_BENCH_ONLY=routes,dataplane runs only those sections (of SECTIONS) and keeps the others'
 * results in RESULTS.md. Data-plane runs: JIBE_BENCH_DURATION (15s), JIBE_BENCH_RATE (1000),
 * JIBE_BENCH_CONNECTIONS (32); route lookup: JIBE_BENCH_ROUTE_OPS (200000).
 */

const here = dirname(fileURLToPath(import.meta.url));
const sizes = (process.env.JIBE_BENCH_PROXIES ?? "100,1000").split(",").map(Number);
const rounds = Number(process.env.JIBE_BENCH_ROUNDS ?? 20);
const SECTIONS = [
  "convergence",
  "certs",
  "authz",
  "routes",
  "dataplane",
  "gateway",
  "mtls",
  "telemetry",
] as const;
type Section = (typeof SECTIONS)[number];

function selectedSections(): ReadonlySet<Section> {
  const only = process.env.JIBE_BENCH_ONLY?.trim();
  if (!only) return new Set(SECTIONS);
  const names = only.split(",").map((n) => n.trim());
  const unknown = names.filter((n) => !(SECTIONS as readonly string[]).includes(n));
  if (unknown.length > 0)
    throw new Error(
      `JIBE_BENCH_ONLY: unknown section ${unknown.join(", ")}; use some of ${SECTIONS.join(",")}`,
    );
  return new Set(names as Section[]);
}

async function main(): Promise<void> {
  const selected = selectedSections();
  const home = await mkdtemp(join(tmpdir(), "jibe-bench-"));
  const nats = await startNatsServer();
  const nc = await connectNats(nats.url);
  const control = await startControlPlane({ nc, home, admin: { host: "127.0.0.1", port: 0 } });
  const results: ConvergenceResult[] = [];
  const sections: string[] = [];
  try {
    if (selected.has("convergence")) {
      for (const proxies of sizes) {
        console.log(`convergence: ${proxies} proxies × ${rounds} rounds ...`);
        const result = await measureConvergence(
          {
            natsUrl: nats.url,
            adminUrl: control.adminUrl,
            token: control.token,
            trustJwks: control.trustJwks,
          },
          proxies,
          rounds,
        );
        console.log(
          `  jibe p50 ${ms(result.jibe.p50)} ms p99 ${ms(result.jibe.p99)} ms | raw p50 ${ms(result.raw.p50)} ms p99 ${ms(result.raw.p99)} ms`,
        );
        results.push(result);
      }
      sections.push(renderResults(results));
    }
    if (selected.has("certs")) {
      console.log("certificate signing ...");
      sections.push(renderCertSigning(await measureCertSigning({ natsUrl: nats.url })));
    }
    if (selected.has("authz")) {
      console.log("authorization decisions and JWT verification ...");
      const node = renderAuthzResults(await measureAuthz());
      console.log("edge worker authz + JWT in workerd ...");
      // A `###` subsection of the authz section (RESULTS.md merges by `## ` section).
      sections.push(`${node}\n${renderEdgeAuthzResults(await measureEdgeAuthz())}`);
    }
    if (selected.has("routes")) {
      console.log("route lookup ...");
      const ops = Number(process.env.JIBE_BENCH_ROUTE_OPS ?? 200_000);
      sections.push(renderRouteLookup(await measureRouteLookup({ ops })));
    }
    const mesh = {
      natsUrl: nats.url,
      adminUrl: control.adminUrl,
      token: control.token,
      trustJwks: control.trustJwks,
      signer: (await loadOrCreateSigningKey(home)).signer,
      nc,
      home,
    };
    if (selected.has("dataplane")) {
      console.log("data plane: direct, Jibe, HAProxy, nginx ...");
      const plain = await measureDataPlane(mesh);
      console.log("data plane over HTTP/2 (h2load): direct, Jibe, HAProxy ...");
      sections.push(renderDataPlane(plain, renderDataPlaneH2(await measureDataPlaneH2(mesh))));
    }
    if (selected.has("gateway")) {
      console.log("ingress gateway (one proxy): direct, Jibe gateway, HAProxy, nginx ...");
      sections.push(renderGatewayBench(await measureGatewayBench(mesh)));
    }
    if (selected.has("mtls")) {
      console.log("data plane with mTLS: direct, Jibe, HAProxy ...");
      sections.push(renderMtls(await measureMtls(mesh)));
    }
    if (selected.has("telemetry")) {
      console.log("telemetry overhead: off, 1%, 100% ...");
      sections.push(renderTelemetryOverhead(await measureTelemetryOverhead(mesh)));
    }
  } finally {
    await control.stop();
    await nc.close();
    await nats.stop();
    await rm(home, { recursive: true, force: true });
  }
  const file = join(here, "RESULTS.md");
  const previous = selected.size === SECTIONS.length ? "" : await readFile(file, "utf8").catch(() => "");
  await writeFile(file, mergeResults(previous, renderHeader(selected), sections));
  console.log(`wrote ${file}`);
}

function renderHeader(selected: ReadonlySet<Section>): string {
  const cpu = cpus()[0]?.model ?? "unknown CPU";
  const full = selected.size === SECTIONS.length;
  return [
    "# Benchmark results",
    "",
    `- Date: ${new Date().toISOString()}`,
    `- Machine: ${cpus().length} × ${cpu}, ${(totalmem() / 2 ** 30).toFixed(0)} GiB, Node ${process.version}, nats-server on loopback`,
    "- Command: `npm run bench`",
    ...(full
      ? []
      : [
          `- This run: \`JIBE_BENCH_ONLY=${[...selected].join(",")}\`; the other sections are from an earlier run.`,
        ]),
    "",
  ].join("\n");
}

function renderResults(results: ConvergenceResult[]): string {
  const lines = [
    "## Config convergence",
    "",
    "Time from an admin-API apply (validate, KV put, sign, publish) until each of N in-process proxies",
    "has applied it through the real sidecar path (verify signature, replay check, policy sync,",
    "incremental compile, route table). Each proxy has its own NATS connection. The raw peer is one",
    "NATS publish of a payload of the same size to the same N connections, in the same run.",
    "`p50`/`p99` are over every proxy in every round; `last` is the time until the last proxy of a round.",
    "",
    "| proxies | rounds | payload | Jibe p50 | Jibe p99 | raw NATS p50 | raw NATS p99 | p99 ratio | Jibe last p99 | raw last p99 |",
    "|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|",
    ...results.map(
      (r) =>
        `| ${r.proxies} | ${r.rounds} | ${r.payloadBytes} B | ${ms(r.jibe.p50)} ms | ${ms(r.jibe.p99)} ms | ${ms(r.raw.p50)} ms | ${ms(r.raw.p99)} ms | ${ratio(r.jibe.p99, r.raw.p99)} | ${ms(r.jibe.lastP99)} ms | ${ms(r.raw.lastP99)} ms |`,
    ),
    "",
    "All N proxies share one Node process and one core here, so their per-event work is serialised: the",
    "last proxy waits for the N-1 before it. Real proxies (one per pod) do that work in parallel. The",
    "table below gives that per-proxy cost (verify signature, open, incremental compile, route table),",
    "measured in the same run on the captured events, and the convergence a fleet of real proxies",
    "would see: raw fan-out p99 plus one proxy's apply p99.",
    "",
    "| proxies | apply cost p50 | apply cost p99 | raw fan-out p99 + apply p99 | ratio to raw p99 |",
    "|---:|---:|---:|---:|---:|",
    ...results.map((r) => {
      const fleet = r.raw.p99 + r.applyCostUs.p99 / 1000;
      return `| ${r.proxies} | ${r.applyCostUs.p50.toFixed(0)} µs | ${r.applyCostUs.p99.toFixed(0)} µs | ${ms(fleet)} ms | ${ratio(fleet, r.raw.p99)} |`;
    }),
    "",
    "Why compile runs in each proxy: the control plane publishes one small signed event per change and a",
    "single NATS fan-out reaches every proxy; compiling per proxy group in the control plane would add a",
    "compile + sign + publish per group before that fan-out starts, growing with the number of groups.",
    "",
  ];
  return lines.join("\n");
}

main().catch((error) => {
  console.error(error);
  process.exit(1);
});
