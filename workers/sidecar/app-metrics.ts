import { request } from "node:http";
import { SidecarError } from "./errors.ts";

/** Where the app serves its own Prometheus metrics (Istio's `prometheus.io/port` and `/path` annotations). */
export interface AppMetricsTarget {
  port: number;
  /** Default `/metrics`. */
  path?: string;
  /** Default 127.0.0.1. */
  host?: string;
  /** Give up on the app after this long; default 2 s (the proxy's own metrics are served anyway). */
  timeoutMs?: number;
}

/** The merged scrape endpoint's counters. */
export interface AppMetricsStats {
  scrapes: number;
  failures: number;
  /** App metric families dropped because the proxy reports a family of the same name. */
  clashes: number;
}

const FAILURES = "jibe_app_metrics_scrape_failures_total";
const SUFFIXES = ["", "_total", "_bucket", "_sum", "_count", "_created", "_info"];

/**
 * The proxy's scrape endpoint with the app's own metrics merged in (Istio's metrics merging), so
 * one Prometheus target per pod carries both. App families whose name the proxy also reports are
 * dropped (the proxy's win; one family per name keeps the exposition valid); when the app cannot
 * be scraped, the proxy's metrics are still served and `jibe_app_metrics_scrape_failures_total`
 * counts it.
 *
 * @example
 * ```ts
 * const scrape = mergedScrape(() => telemetry.metricsText(), { port: 9090, path: "/metrics" });
 * res.end(await scrape.text());
 * ```
 */
export function mergedScrape(
  proxyText: () => Promise<string>,
  target: AppMetricsTarget | undefined,
): { text(): Promise<string>; readonly stats: AppMetricsStats } {
  const stats: AppMetricsStats = { scrapes: 0, failures: 0, clashes: 0 };
  return {
    stats,
    async text() {
      if (!target) return proxyText();
      const [proxy, app] = await Promise.all([proxyText(), fetchAppMetrics(target).catch(() => undefined)]);
      stats.scrapes += 1;
      if (app === undefined) stats.failures += 1;
      const merged = mergeExpositions(proxy, app ?? "");
      stats.clashes += merged.dropped.length;
      const failures = [
        `# HELP ${FAILURES} Scrapes of the app's own metrics (merged into this endpoint) that failed.`,
        `# TYPE ${FAILURES} counter`,
        `${FAILURES} ${stats.failures}`,
        "",
      ].join("\n");
      return `${merged.text}${failures}`;
    },
  };
}

/**
 * Appends the app's exposition to the proxy's, family by family, leaving out app families whose
 * name the proxy already reports (and OpenMetrics' `# EOF`). Pure.
 *
 * @example
 * ```ts
 * mergeExpositions(proxyText, "# TYPE orders_total counter\norders_total 3\n").text; // proxy text + orders_total
 * ```
 */
export function mergeExpositions(proxy: string, app: string): { text: string; dropped: string[] } {
  const taken = new Set<string>();
  for (const family of familiesOf(proxy)) for (const suffix of SUFFIXES) taken.add(`${family.name}${suffix}`);
  const dropped: string[] = [];
  const kept: string[] = [];
  for (const family of familiesOf(app)) {
    if (taken.has(family.name) || family.samples.some((s) => taken.has(s))) dropped.push(family.name);
    else kept.push(...family.lines);
  }
  const head = proxy === "" || proxy.endsWith("\n") ? proxy : `${proxy}\n`;
  return { text: `${head}${kept.map((line) => `${line}\n`).join("")}`, dropped: [...new Set(dropped)] };
}

interface Family {
  name: string;
  lines: string[];
  /** Sample names seen in the family (`x_bucket`, `x_sum`, ...). */
  samples: string[];
}

function familiesOf(text: string): Family[] {
  const families: Family[] = [];
  let current: Family | undefined;
  const open = (name: string) => {
    current = { name, lines: [], samples: [] };
    families.push(current);
    return current;
  };
  for (const raw of text.split("\n")) {
    const line = raw.trimEnd();
    if (line === "" || line === "# EOF") continue;
    const meta = /^#\s+(HELP|TYPE|UNIT)\s+([a-zA-Z_:][a-zA-Z0-9_:]*)/.exec(line);
    if (meta) {
      const name = meta[2] ?? "";
      (current?.name === name ? current : open(name)).lines.push(line);
      continue;
    }
    if (line.startsWith("#")) {
      current?.lines.push(line);
      continue;
    }
    const sample = /^([a-zA-Z_:][a-zA-Z0-9_:]*)/.exec(line)?.[1] ?? "";
    const family =
      current && SUFFIXES.some((suffix) => `${current?.name}${suffix}` === sample) ? current : open(sample);
    family.lines.push(line);
    family.samples.push(sample);
  }
  return families;
}

async function fetchAppMetrics(target: AppMetricsTarget): Promise<string> {
  return new Promise((resolve, reject) => {
    const req = request(
      {
        host: target.host ?? "127.0.0.1",
        port: target.port,
        path: target.path ?? "/metrics",
        // The classic text format: OpenMetrics would need the whole endpoint in OpenMetrics.
        headers: { accept: "text/plain;version=0.0.4;q=1,*/*;q=0.1" },
        timeout: target.timeoutMs ?? 2_000,
      },
      (res) => {
        const chunks: Buffer[] = [];
        res.on("data", (chunk: Buffer) => chunks.push(chunk));
        res.on("error", reject);
        res.on("end", () => {
          if (res.statusCode === 200) resolve(Buffer.concat(chunks).toString("utf8"));
          else reject(new Error(`app metrics answered ${res.statusCode}`));
        });
      },
    );
    req.on("timeout", () => req.destroy(new Error("app metrics timed out")));
    req.on("error", reject);
    req.end();
  });
}

/**
 * The app's metrics endpoint from the environment: `JIBE_APP_METRICS_PORT` (+ `JIBE_APP_METRICS_PATH`,
 * default `/metrics`), else Istio's `ISTIO_PROMETHEUS_ANNOTATIONS` (the pod's original
 * `prometheus.io/{scrape,port,path}` as JSON, which Istio's injector sets). Unset: no merging.
 *
 * @example
 * ```ts
 * readAppMetricsEnv({ ISTIO_PROMETHEUS_ANNOTATIONS: '{"scrape":"true","port":"9090","path":"/stats"}' });
 * // { port: 9090, path: "/stats" }
 * ```
 */
export function readAppMetricsEnv(env: Record<string, string | undefined>): AppMetricsTarget | undefined {
  let port = env.JIBE_APP_METRICS_PORT?.trim();
  let path = env.JIBE_APP_METRICS_PATH?.trim();
  let source = "JIBE_APP_METRICS_PORT";
  const istio = env.ISTIO_PROMETHEUS_ANNOTATIONS?.trim();
  if (!port && istio) {
    let parsed: { scrape?: string; port?: string; path?: string };
    try {
      parsed = JSON.parse(istio) as typeof parsed;
    } catch {
      throw new SidecarError(
        "sidecar-config-invalid",
        `ISTIO_PROMETHEUS_ANNOTATIONS is not JSON; use e.g. {"scrape":"true","port":"9090","path":"/metrics"}`,
        { user: true },
      );
    }
    if (parsed.scrape === "false") return undefined;
    port = parsed.port;
    path ||= parsed.path;
    source = "ISTIO_PROMETHEUS_ANNOTATIONS.port";
  }
  if (!port) return undefined;
  const number = Number(port);
  if (!Number.isInteger(number) || number < 1 || number > 65535)
    throw new SidecarError("sidecar-config-invalid", `${source}=${port} is not a port; use 1 to 65535`, {
      user: true,
    });
  if (path && !path.startsWith("/"))
    throw new SidecarError("sidecar-config-invalid", `app metrics path "${path}" must start with /`, {
      user: true,
    });
  return { port: number, ...(path ? { path } : {}) };
}
