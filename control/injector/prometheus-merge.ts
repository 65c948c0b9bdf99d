import { PROXY } from "./traffic-capture.ts";

/** Istio's opt-out: `prometheus.istio.io/merge-metrics: "false"` leaves the scrape annotations alone. */
export const MERGE_METRICS_ANNOTATION = "prometheus.istio.io/merge-metrics";

/** What metrics merging changes on an injected pod. */
export interface PrometheusMerge {
  /** Annotations to set: Prometheus now scrapes the proxy's status port, which serves both. */
  annotations: Record<string, string>;
  /** Proxy environment: the app's original scrape settings (`ISTIO_PROMETHEUS_ANNOTATIONS`). */
  env: { name: string; value: string }[];
}

/**
 * Istio's metrics merging at injection: a pod that asks to be scraped (`prometheus.io/scrape` not
 * `"false"`) gets `prometheus.io/port` = the proxy's status port and `prometheus.io/path` =
 * `/stats/prometheus`, and the proxy is told the original port and path, so one scrape returns the
 * proxy's Istio metrics and the app's own (`workers/sidecar/app-metrics.ts`). Pure.
 *
 * @example
 * ```ts
 * prometheusMerge({ "prometheus.io/scrape": "true", "prometheus.io/port": "9090" });
 * // { annotations: { "prometheus.io/port": "15020", "prometheus.io/path": "/stats/prometheus" },
 * //   env: [{ name: "ISTIO_PROMETHEUS_ANNOTATIONS", value: '{"scrape":"true","port":"9090"}' }] }
 * ```
 */
export function prometheusMerge(annotations: Readonly<Record<string, string>>): PrometheusMerge | undefined {
  const scrape = annotations["prometheus.io/scrape"];
  if (scrape === undefined || scrape === "false" || annotations[MERGE_METRICS_ANNOTATION] === "false")
    return undefined;
  const original: Record<string, string> = { scrape };
  const port = annotations["prometheus.io/port"];
  const path = annotations["prometheus.io/path"];
  if (port !== undefined) original.port = port;
  if (path !== undefined) original.path = path;
  return {
    annotations: {
      "prometheus.io/port": String(PROXY.statusPort),
      "prometheus.io/path": "/stats/prometheus",
    },
    env: [{ name: "ISTIO_PROMETHEUS_ANNOTATIONS", value: JSON.stringify(original) }],
  };
}
