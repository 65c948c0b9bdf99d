/**
 * Metrics that travel over the bus: a proxy that cannot be scraped (the edge worker) adds its
 * requests to a {@link MetricBatcher} and periodically publishes the deltas as one
 * {@link MetricBatch}; the control plane adds every batch into a {@link MetricAggregate} and serves
 * the totals as Prometheus text. Pure (no I/O): runs in workerd and Node alike.
 */

/** Subject prefix of metric batches. Deliberately outside `jibe.v1.>` (signed policy events only). */
export const TELEMETRY_SUBJECT_PREFIX = "jibe.telemetry.v1";

/** The subject a proxy publishes its batches on: `jibe.telemetry.v1.metrics.<proxy id, `.` → `_`>`. */
export function metricBatchSubject(proxyId: string): string {
  return `${TELEMETRY_SUBJECT_PREFIX}.metrics.${proxyId.replaceAll(".", "_")}`;
}

/** One series' change since the previous batch. */
export type SeriesDelta =
  | { name: string; type: "counter"; labels: Record<string, string>; value: number }
  | {
      name: string;
      type: "histogram";
      labels: Record<string, string>;
      /** Upper bounds, ascending, without +Inf. */
      buckets: number[];
      /** Observations per bucket (not cumulative), one more than `buckets` (the last is +Inf). */
      counts: number[];
      sum: number;
    };

/** What a proxy publishes: its deltas since the last batch. */
export interface MetricBatch {
  v: 1;
  proxy: string;
  /** Epoch ms when the batch was cut. */
  at: number;
  /** The proxy's Telemetry `metricExpiry`, so the aggregate drops its idle series as the proxy would. */
  expiryMs?: number;
  series: SeriesDelta[];
}

/** Collects deltas between publishes. */
export interface MetricBatcher {
  count(name: string, labels: Record<string, string>, value: number): void;
  observe(name: string, labels: Record<string, string>, buckets: readonly number[], value: number): void;
  /** True when nothing was added since the last {@link MetricBatcher.drain}. */
  empty(): boolean;
  /** The deltas so far; starts a new batch. */
  drain(): SeriesDelta[];
}

/**
 * Creates a batcher: one delta per metric and label set, however many requests it saw.
 *
 * @example
 * ```ts
 * const batcher = createMetricBatcher();
 * batcher.count("istio_requests_total", labels, 1);
 * publish({ v: 1, proxy, at: Date.now(), series: batcher.drain() });
 * ```
 */
export function createMetricBatcher(): MetricBatcher {
  let pending = new Map<string, SeriesDelta>();
  return {
    count(name, labels, value) {
      const key = seriesKey(name, labels);
      const current = pending.get(key);
      if (current?.type === "counter") current.value += value;
      else pending.set(key, { name, type: "counter", labels: { ...labels }, value });
    },
    observe(name, labels, buckets, value) {
      const key = `${seriesKey(name, labels)}|${buckets.join(",")}`;
      let current = pending.get(key);
      if (current?.type !== "histogram") {
        current = {
          name,
          type: "histogram",
          labels: { ...labels },
          buckets: [...buckets],
          counts: new Array<number>(buckets.length + 1).fill(0),
          sum: 0,
        };
        pending.set(key, current);
      }
      const index = buckets.findIndex((bound) => value <= bound);
      const slot = index === -1 ? buckets.length : index;
      current.counts[slot] = (current.counts[slot] ?? 0) + 1;
      current.sum += value;
    },
    empty: () => pending.size === 0,
    drain() {
      const out = [...pending.values()];
      pending = new Map();
      return out;
    },
  };
}

/** Totals of every proxy's batches, rendered as one Prometheus exposition. */
export interface MetricAggregate {
  /** Adds a batch; returns false (and changes nothing) when it is malformed. */
  add(batch: unknown): boolean;
  /** Prometheus text format 0.0.4 (series idle past their proxy's expiry dropped first). */
  text(): string;
  /** Live series per metric name. */
  seriesCount(): Record<string, number>;
  /** Proxies that sent a batch, with the time of their last one. */
  proxies(): Record<string, number>;
}

interface Total {
  name: string;
  labels: Record<string, string>;
  type: "counter" | "histogram";
  value: number;
  buckets: number[];
  counts: number[];
  sum: number;
  at: number;
  expiryMs?: number;
}

/**
 * Creates an aggregate. Series keep the labels the proxy gave them (Istio's), so batches with the
 * same labels (several isolates or edge locations) add up. Help texts come from `help` by name.
 *
 * @example
 * ```ts
 * const aggregate = createMetricAggregate({ clock: Date.now, help: { istio_requests_total: "Requests." } });
 * aggregate.add(JSON.parse(message.string()));
 * response.end(aggregate.text());
 * ```
 */
export function createMetricAggregate(options: {
  clock: () => number;
  help?: Readonly<Record<string, string>>;
}): MetricAggregate {
  const totals = new Map<string, Total>();
  const lastSeen = new Map<string, number>();

  const expire = () => {
    const now = options.clock();
    for (const [key, total] of totals)
      if (total.expiryMs !== undefined && now - total.at >= total.expiryMs) totals.delete(key);
  };

  return {
    add(raw) {
      if (!isBatch(raw)) return false;
      const now = options.clock();
      lastSeen.set(raw.proxy, now);
      for (const delta of raw.series) {
        const key = seriesKey(delta.name, delta.labels);
        let total = totals.get(key);
        const buckets = delta.type === "histogram" ? delta.buckets : [];
        // A changed type or bucket layout (Telemetry edited) restarts the series: a counter reset.
        if (!total || total.type !== delta.type || total.buckets.join() !== buckets.join()) {
          total = {
            name: delta.name,
            labels: { ...delta.labels },
            type: delta.type,
            value: 0,
            buckets: [...buckets],
            counts: new Array<number>(buckets.length + 1).fill(0),
            sum: 0,
            at: now,
          };
          totals.set(key, total);
        }
        if (delta.type === "counter") total.value += delta.value;
        else {
          delta.counts.forEach((n, i) => {
            total.counts[i] = (total.counts[i] ?? 0) + n;
          });
          total.sum += delta.sum;
        }
        total.at = now;
        if (raw.expiryMs === undefined) delete total.expiryMs;
        else total.expiryMs = raw.expiryMs;
      }
      return true;
    },
    text() {
      expire();
      const byName = new Map<string, Total[]>();
      for (const total of totals.values()) {
        const list = byName.get(total.name) ?? [];
        list.push(total);
        byName.set(total.name, list);
      }
      const lines: string[] = [];
      for (const [name, list] of [...byName].sort(([a], [b]) => (a < b ? -1 : 1))) {
        const type = list[0]?.type ?? "counter";
        lines.push(
          `# HELP ${name} ${escapeHelp(options.help?.[name] ?? `${name} (pushed by proxies over NATS)`)}`,
        );
        lines.push(`# TYPE ${name} ${type}`);
        for (const total of list) {
          if (total.type === "counter") {
            lines.push(`${name}${labelText(total.labels)} ${total.value}`);
            continue;
          }
          let cumulative = 0;
          total.buckets.forEach((bound, i) => {
            cumulative += total.counts[i] ?? 0;
            lines.push(`${name}_bucket${labelText({ ...total.labels, le: String(bound) })} ${cumulative}`);
          });
          cumulative += total.counts[total.buckets.length] ?? 0;
          lines.push(`${name}_bucket${labelText({ ...total.labels, le: "+Inf" })} ${cumulative}`);
          lines.push(`${name}_sum${labelText(total.labels)} ${total.sum}`);
          lines.push(`${name}_count${labelText(total.labels)} ${cumulative}`);
        }
      }
      return lines.length === 0 ? "" : `${lines.join("\n")}\n`;
    },
    seriesCount() {
      expire();
      const counts: Record<string, number> = {};
      for (const total of totals.values()) counts[total.name] = (counts[total.name] ?? 0) + 1;
      return counts;
    },
    proxies: () => Object.fromEntries(lastSeen),
  };
}

const NAME = /^[a-zA-Z_:][a-zA-Z0-9_:]*$/;
const LABEL = /^[a-zA-Z_][a-zA-Z0-9_]*$/;

/** Bus-edge validation: a batch from the wire is trusted for nothing. */
function isBatch(raw: unknown): raw is MetricBatch {
  if (typeof raw !== "object" || raw === null) return false;
  const b = raw as Partial<MetricBatch>;
  if (b.v !== 1 || typeof b.proxy !== "string" || !Array.isArray(b.series)) return false;
  if (b.expiryMs !== undefined && !(typeof b.expiryMs === "number" && b.expiryMs > 0)) return false;
  return b.series.every((s: Partial<SeriesDelta> | null) => {
    if (typeof s !== "object" || s === null || typeof s.name !== "string" || !NAME.test(s.name)) return false;
    const labels = s.labels;
    if (typeof labels !== "object" || labels === null) return false;
    if (!Object.entries(labels).every(([k, v]) => LABEL.test(k) && k !== "le" && typeof v === "string"))
      return false;
    if (s.type === "counter") return isCount(s.value);
    if (s.type !== "histogram") return false;
    const { buckets, counts, sum } = s;
    return (
      Array.isArray(buckets) &&
      buckets.every((x, i) => Number.isFinite(x) && (i === 0 || x > (buckets[i - 1] ?? 0))) &&
      Array.isArray(counts) &&
      counts.length === buckets.length + 1 &&
      counts.every(isCount) &&
      typeof sum === "number" &&
      Number.isFinite(sum)
    );
  });
}

function isCount(value: unknown): boolean {
  return typeof value === "number" && Number.isFinite(value) && value >= 0;
}

function seriesKey(name: string, labels: Record<string, string>): string {
  return `${name}${JSON.stringify(Object.entries(labels).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)))}`;
}

function labelText(labels: Record<string, string>): string {
  const parts = Object.entries(labels).map(
    ([k, v]) => `${k}="${v.replaceAll("\\", "\\\\").replaceAll("\n", "\\n").replaceAll('"', '\\"')}"`,
  );
  return parts.length === 0 ? "" : `{${parts.join(",")}}`;
}

function escapeHelp(text: string): string {
  return text.replaceAll("\\", "\\\\").replaceAll("\n", "\\n");
}
