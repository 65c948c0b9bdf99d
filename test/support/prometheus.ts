import { type ChildProcess, spawn } from "node:child_process";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { findExecutable } from "./promtool.ts";

/** A real Prometheus server scraping the given targets, for end-to-end tests. */
export interface PrometheusHandle {
  url: string;
  /** Instant PromQL query; the `data.result` vector. */
  query(promql: string): Promise<Array<{ metric: Record<string, string>; value: [number, string] }>>;
  /** Scrape health per target, from /api/v1/targets. */
  targets(): Promise<Array<{ scrapeUrl: string; health: string; lastError: string }>>;
  stop(): Promise<void>;
}

/**
 * Starts `prometheus` (Debian package `prometheus`; $PROMETHEUS overrides) on a free loopback port
 * with a temp TSDB, scraping `targets` (`host:port`) at `metricsPath` every `intervalSeconds`.
 * Throws with the install hint when the binary is missing: tests fail, never skip.
 */
export async function startPrometheus(opts: {
  targets: string[];
  metricsPath: string;
  intervalSeconds?: number;
}): Promise<PrometheusHandle> {
  const binary = findExecutable("prometheus", process.env.PROMETHEUS);
  const dir = await mkdtemp(join(tmpdir(), "jibe-prometheus-"));
  const interval = `${opts.intervalSeconds ?? 1}s`;
  const config = [
    "global:",
    `  scrape_interval: ${interval}`,
    `  evaluation_interval: ${interval}`,
    "scrape_configs:",
    "  - job_name: jibe-sidecars",
    `    metrics_path: ${opts.metricsPath}`,
    "    static_configs:",
    `      - targets: [${opts.targets.map((t) => JSON.stringify(t)).join(", ")}]`,
    "",
  ].join("\n");
  await writeFile(join(dir, "prometheus.yml"), config);
  const port = await freeLoopbackPort();
  const url = `http://127.0.0.1:${port}`;
  const child: ChildProcess = spawn(
    binary,
    [
      `--config.file=${join(dir, "prometheus.yml")}`,
      `--storage.tsdb.path=${join(dir, "data")}`,
      `--web.listen-address=127.0.0.1:${port}`,
    ],
    { stdio: ["ignore", "ignore", "pipe"] },
  );
  let stderr = "";
  child.stderr?.on("data", (c: Buffer) => {
    stderr = `${stderr}${c.toString()}`.slice(-4000);
  });
  const stop = async () => {
    if (child.exitCode === null) {
      const exited = new Promise((resolve) => child.once("exit", resolve));
      child.kill("SIGTERM");
      await exited;
    }
    await rm(dir, { recursive: true, force: true });
  };
  const started = Date.now();
  for (;;) {
    if (child.exitCode !== null) {
      await stop();
      throw new Error(`prometheus exited with ${child.exitCode}: ${stderr}`);
    }
    const ready = await fetch(`${url}/-/ready`).then(
      (r) => r.ok,
      () => false,
    );
    if (ready) break;
    if (Date.now() - started > 20_000) {
      await stop();
      throw new Error(`prometheus not ready after 20 s: ${stderr}`);
    }
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  return {
    url,
    async query(promql) {
      const response = await fetch(`${url}/api/v1/query?query=${encodeURIComponent(promql)}`);
      const body = (await response.json()) as { status: string; error?: string; data: { result: [] } };
      if (body.status !== "success") throw new Error(`PromQL ${promql}: ${body.error}`);
      return body.data.result;
    },
    async targets() {
      const response = await fetch(`${url}/api/v1/targets`);
      const body = (await response.json()) as {
        data: { activeTargets: Array<{ scrapeUrl: string; health: string; lastError: string }> };
      };
      return body.data.activeTargets;
    },
    stop,
  };
}

function freeLoopbackPort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once("error", reject);
    server.listen(0, "127.0.0.1", () => {
      const address = server.address();
      const port = typeof address === "object" && address ? address.port : 0;
      server.close(() => resolve(port));
    });
  });
}
