import { execFile } from "node:child_process";
import { writeFile } from "node:fs/promises";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { promisify } from "node:util";

/** What one load run measured; latencies in milliseconds. */
export interface LoadResult {
  rps: number;
  p50: number;
  p90: number;
  p99: number;
  requests: number;
  /** Socket errors, timeouts and non-2xx answers. */
  errors: number;
}

/** Load settings shared by every peer of a run. */
export interface LoadSettings {
  durationMs: number;
  /** Fixed request rate of the constant-rate run. */
  rate: number;
  /** Keep-alive connections. */
  connections: number;
  bodyBytes: number;
  /** `Host` sent with every request (the mesh service name; HAProxy and nginx ignore it). */
  host: string;
  /** Directory for wrk's script. */
  dir: string;
}

const run = promisify(execFile);
const here = fileURLToPath(new URL(".", import.meta.url));

/**
 * Saturation: `wrk --latency` (one thread, `connections` keep-alive connections, POST bodies of
 * `bodyBytes`) against `url`, its report parsed.
 */
export async function runWrk(url: string, settings: LoadSettings): Promise<LoadResult> {
  const script = join(settings.dir, "post.lua");
  await writeFile(
    script,
    [
      'wrk.method = "POST"',
      `wrk.body = string.rep("x", ${settings.bodyBytes})`,
      'wrk.headers["Content-Type"] = "application/octet-stream"',
      `wrk.headers["Host"] = "${settings.host}"`,
      "",
    ].join("\n"),
  );
  const seconds = Math.max(1, Math.round(settings.durationMs / 1000));
  const { stdout } = await run(
    "wrk",
    ["-t1", `-c${settings.connections}`, `-d${seconds}s`, "--latency", "-s", script, url],
    { timeout: settings.durationMs + 30_000 },
  );
  return parseWrk(stdout);
}

/**
 * Parses wrk's `--latency` report: the latency distribution, `Requests/sec`, the request count,
 * socket errors and non-2xx/3xx answers.
 */
export function parseWrk(report: string): LoadResult {
  const latency = (p: number) => {
    const match = new RegExp(`^\\s*${p}%\\s+([\\d.]+)(us|ms|s)\\s*$`, "m").exec(report);
    if (!match) throw new Error(`wrk report without a ${p}% latency:\n${report}`);
    const unit = match[2] === "us" ? 0.001 : match[2] === "ms" ? 1 : 1000;
    return Number(match[1]) * unit;
  };
  const socket = /Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)/.exec(report);
  const non2xx = Number(/Non-2xx or 3xx responses: (\d+)/.exec(report)?.[1] ?? 0);
  return {
    rps: Number(/Requests\/sec:\s+([\d.]+)/.exec(report)?.[1] ?? Number.NaN),
    p50: latency(50),
    p90: latency(90),
    p99: latency(99),
    requests: Number(/(\d+) requests in/.exec(report)?.[1] ?? 0),
    errors: non2xx + (socket ? socket.slice(1).reduce((sum, n) => sum + Number(n), 0) : 0),
  };
}

/** Fixed rate: the open-loop Node load generator (constant-rate-load.ts) in its own process. */
export async function runConstantRate(url: string, settings: LoadSettings): Promise<LoadResult> {
  const spec = {
    url,
    host: settings.host,
    rate: settings.rate,
    durationMs: settings.durationMs,
    connections: settings.connections,
    bodyBytes: settings.bodyBytes,
  };
  const { stdout } = await run(process.execPath, [join(here, "constant-rate-load.ts")], {
    env: { ...process.env, JIBE_LOAD: JSON.stringify(spec) },
    timeout: settings.durationMs + 30_000,
  });
  const result = JSON.parse(stdout.trim().split("\n").pop() ?? "{}") as {
    completed: number;
    errors: number;
    non2xx: number;
    rps: number;
    p50: number;
    p90: number;
    p99: number;
  };
  return {
    rps: result.rps,
    p50: result.p50,
    p90: result.p90,
    p99: result.p99,
    requests: result.completed,
    errors: result.errors + result.non2xx,
  };
}
