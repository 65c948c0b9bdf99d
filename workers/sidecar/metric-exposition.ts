/** The Prometheus text format's content type (version 0.0.4). */
export const PROMETHEUS_CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8";

/** The values of one series: a counter's total, or a histogram's sum, count and per-bucket counts. */
export interface SeriesValues {
  readonly labels: Readonly<Record<string, string>>;
  /** Counter: the total; histogram: the sum of observations. */
  sum: number;
  /** Histogram: observations. */
  count: number;
  /** Histogram: observations per bucket (not cumulative), in the order of the family's bounds. */
  readonly buckets?: number[];
}

/** One metric family: counter without `buckets`, histogram with them (upper bounds, ascending). */
export interface MetricFamily {
  name: string;
  help: string;
  buckets?: readonly number[];
  series: Iterable<SeriesValues>;
}

/**
 * The Prometheus text exposition of `families` (the layout prom-client writes: families separated
 * by a blank line, `le` first on bucket lines, cumulative buckets, then `+Inf`, `_sum`, `_count`).
 *
 * @example
 * ```ts
 * renderExposition([{ name: "istio_requests_total", help: "Requests.", series: [{ labels: { reporter: "source" }, sum: 3, count: 3 }] }]);
 * // "# HELP istio_requests_total Requests.\n# TYPE istio_requests_total counter\nistio_requests_total{reporter=\"source\"} 3\n"
 * ```
 */
export function renderExposition(families: Iterable<MetricFamily>): string {
  const blocks: string[] = [];
  for (const family of families) blocks.push(renderFamily(family));
  return blocks.length === 0 ? "" : `${blocks.join("\n\n")}\n`;
}

function renderFamily({ name, help, buckets, series }: MetricFamily): string {
  const lines = [`# HELP ${name} ${escapeText(help)}`, `# TYPE ${name} ${buckets ? "histogram" : "counter"}`];
  for (const values of series) {
    const labels = formatLabels(values.labels);
    if (!buckets) {
      lines.push(`${name}${braced(labels)} ${values.sum}`);
      continue;
    }
    const rest = labels === "" ? "" : `,${labels}`;
    let cumulative = 0;
    buckets.forEach((bound, i) => {
      cumulative += values.buckets?.[i] ?? 0;
      lines.push(`${name}_bucket{le="${bound}"${rest}} ${cumulative}`);
    });
    lines.push(`${name}_bucket{le="+Inf"${rest}} ${values.count}`);
    lines.push(`${name}_sum${braced(labels)} ${values.sum}`);
    lines.push(`${name}_count${braced(labels)} ${values.count}`);
  }
  return lines.join("\n");
}

function formatLabels(labels: Readonly<Record<string, string>>): string {
  const parts: string[] = [];
  for (const name in labels) {
    const value = labels[name];
    if (value !== undefined) parts.push(`${name}="${escapeText(value).replace(/"/g, '\\"')}"`);
  }
  return parts.join(",");
}

function braced(labels: string): string {
  return labels === "" ? "" : `{${labels}}`;
}

function escapeText(text: string): string {
  return text.replace(/\\/g, "\\\\").replace(/\n/g, "\\n");
}

const METRIC_NAME = /^[a-zA-Z_:][a-zA-Z0-9_:]*$/;
const LABEL_NAME = /^[a-zA-Z_][a-zA-Z0-9_]*$/;

/**
 * Throws when a family could not be exposed: an invalid metric or label name, or `le` on a
 * histogram (it names the bucket).
 */
export function checkFamilyNames(name: string, labelNames: readonly string[], histogram: boolean): void {
  if (!METRIC_NAME.test(name)) throw new Error(`Invalid metric name: ${name}`);
  const invalid = labelNames.find((label) => !LABEL_NAME.test(label));
  if (invalid !== undefined) throw new Error(`Invalid label name: ${invalid} (metric ${name})`);
  if (histogram && labelNames.includes("le"))
    throw new Error(`le is a reserved label keyword (metric ${name})`);
}
