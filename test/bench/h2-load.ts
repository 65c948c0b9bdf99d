import { execFile } from "node:child_process";
import { readFile, rm, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { promisify } from "node:util";
import type { LoadResult, LoadSettings } from "./http-load.ts";
import { percentile } from "./stats.ts";

/**
 * HTTP/2 load with `h2load` (Debian package nghttp2-client): h2c with prior knowledge, POST bodies
 * of `bodyBytes`, `:authority` the mesh host. Latency percentiles come from its per-request log
 * (`--log-file`), which its own report does not give.
 */

/** Concurrent streams per h2load connection; `connections / H2_STREAMS` connections carry the load. */
export const H2_STREAMS = 4;

const run = promisify(execFile);

/** The h2load connections that carry `concurrency` streams in flight, {@link H2_STREAMS} each (at least one). */
export function h2Clients(concurrency: number): number {
  return Math.max(1, Math.floor(concurrency / H2_STREAMS));
}

/**
 * One h2load run against `url` for `settings.durationMs`: with `rate`, each connection is held to
 * its share of it (`--rps`, closed loop per connection: latency is measured from each request's
 * actual send); without, as fast as it answers (saturation). `connections / H2_STREAMS` connections
 * (at least one) with {@link H2_STREAMS} streams each, one thread.
 *
 * @example
 * ```ts
 * const saturation = await runH2load("http://127.0.0.1:15001/", settings);
 * const fixed = await runH2load("http://127.0.0.1:15001/", settings, { rate: 1000 });
 * ```
 */
export async function runH2load(
  url: string,
  settings: LoadSettings,
  options: { rate?: number } = {},
): Promise<LoadResult> {
  const body = join(settings.dir, "h2-body");
  const log = join(settings.dir, `h2load-${process.pid}-${Date.now()}.tsv`);
  await writeFile(body, Buffer.alloc(settings.bodyBytes, "x"));
  const clients = h2Clients(settings.connections);
  const seconds = Math.max(1, Math.round(settings.durationMs / 1000));
  const args = [
    `-c${clients}`,
    `-m${H2_STREAMS}`,
    "-t1",
    `-D${seconds}`,
    "-d",
    body,
    "-H",
    `:authority: ${settings.host}`,
    "-H",
    "content-type: application/octet-stream",
    "--log-file",
    log,
    ...(options.rate ? [`--rps=${Math.max(1, Math.round(options.rate / clients))}`] : []),
    url,
  ];
  try {
    const { stdout } = await run("h2load", args, { timeout: settings.durationMs + 30_000 });
    return parseH2load(stdout, await readFile(log, "utf8"));
  } finally {
    await rm(log, { force: true });
  }
}

/**
 * Reads h2load's report (`finished in …, N req/s` and the `requests:` line) and its per-request
 * log (tab-separated: start µs, status, duration µs) into a {@link LoadResult}. Errors are h2load's
 * `failed` requests: reset or errored streams, timeouts and non-2xx answers.
 *
 * @example
 * ```ts
 * parseH2load(stdout, logText); // { rps: 9120, p50: 2.1, p90: 3.4, p99: 7.9, requests: 27360, errors: 0 }
 * ```
 */
export function parseH2load(report: string, log: string): LoadResult {
  const rps = /finished in [\d.]+m?s, ([\d.]+) req\/s/.exec(report);
  const requests = /requests: \d+ total, \d+ started, (\d+) done, \d+ succeeded, (\d+) failed/.exec(report);
  if (!rps || !requests) throw new Error(`h2load report not understood:\n${report}`);
  const latencies: number[] = [];
  for (const line of log.split("\n")) {
    const [, , micros] = line.split("\t");
    if (micros !== undefined && micros !== "") latencies.push(Number(micros) / 1000);
  }
  return {
    rps: Number(rps[1]),
    p50: percentile(latencies, 50),
    p90: percentile(latencies, 90),
    p99: percentile(latencies, 99),
    requests: Number(requests[1]),
    errors: Number(requests[2]),
  };
}
