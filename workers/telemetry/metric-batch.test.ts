import { describe, expect, it } from "vitest";
import { checkMetrics, ISTIO_NAME_LINTS } from "../../test/support/promtool.ts";
import { createMetricAggregate, createMetricBatcher, metricBatchSubject } from "./metric-batch.ts";

const labels = { reporter: "source", source_workload: "jibe-edge", destination_workload: "productpage-v1" };
const BUCKETS = [1, 10, 100];

function batch(proxy: string, fill: (b: ReturnType<typeof createMetricBatcher>) => void, expiryMs?: number) {
  const batcher = createMetricBatcher();
  fill(batcher);
  return { v: 1, proxy, at: 0, ...(expiryMs ? { expiryMs } : {}), series: batcher.drain() };
}

describe("metric batches over the bus", () => {
  it("sends one delta per series however many requests, and starts empty after a drain", () => {
    const batcher = createMetricBatcher();
    for (let i = 0; i < 5; i++) batcher.count("istio_requests_total", labels, 1);
    batcher.observe("istio_request_duration_milliseconds", labels, BUCKETS, 0.5);
    batcher.observe("istio_request_duration_milliseconds", labels, BUCKETS, 50);
    batcher.observe("istio_request_duration_milliseconds", labels, BUCKETS, 5000);
    const series = batcher.drain();
    expect(series).toEqual([
      { name: "istio_requests_total", type: "counter", labels, value: 5 },
      {
        name: "istio_request_duration_milliseconds",
        type: "histogram",
        labels,
        buckets: BUCKETS,
        counts: [1, 0, 1, 1],
        sum: 5050.5,
      },
    ]);
    expect(batcher.empty()).toBe(true);
    expect(metricBatchSubject("edge~eu.west")).toBe("jibe.telemetry.v1.metrics.edge~eu_west");
  });

  it("adds batches of several isolates into cumulative, promtool-clean totals", () => {
    const aggregate = createMetricAggregate({ clock: () => 0, help: { istio_requests_total: "Requests." } });
    const fill = (n: number) => (b: ReturnType<typeof createMetricBatcher>) => {
      b.count("istio_requests_total", labels, n);
      b.observe("istio_request_duration_milliseconds", labels, BUCKETS, n);
    };
    expect(aggregate.add(batch("edge~a", fill(2)))).toBe(true);
    expect(aggregate.add(batch("edge~b", fill(50)))).toBe(true);
    const text = aggregate.text();
    expect(text).toContain(
      'istio_requests_total{reporter="source",source_workload="jibe-edge",destination_workload="productpage-v1"} 52',
    );
    expect(text).toMatch(/istio_request_duration_milliseconds_bucket\{[^}]*le="10"\} 1\n/);
    expect(text).toMatch(/istio_request_duration_milliseconds_bucket\{[^}]*le="\+Inf"\} 2\n/);
    expect(text).toMatch(/istio_request_duration_milliseconds_count\{[^}]*\} 2\n/);
    expect(checkMetrics(text, ISTIO_NAME_LINTS)).toMatchObject({ ok: true, problems: [] });
    expect(Object.keys(aggregate.proxies()).sort()).toEqual(["edge~a", "edge~b"]);
  });

  it("refuses malformed batches whole: bad names, negative counts, bucket mismatch, `le` labels", () => {
    const aggregate = createMetricAggregate({ clock: () => 0 });
    const good = { name: "x_total", type: "counter", labels: {}, value: 1 };
    for (const series of [
      [{ ...good, name: "bad-name" }],
      [{ ...good, value: -1 }],
      [{ ...good, labels: { le: "1" } }],
      [{ name: "h", type: "histogram", labels: {}, buckets: [1, 2], counts: [1], sum: 1 }],
      [{ name: "h", type: "histogram", labels: {}, buckets: [2, 1], counts: [0, 0, 1], sum: 1 }],
      [good, { ...good, type: "gauge" }],
    ])
      expect(aggregate.add({ v: 1, proxy: "edge~x", at: 0, series })).toBe(false);
    expect(aggregate.add("not json")).toBe(false);
    expect(aggregate.text()).toBe("");
  });

  it("drops series idle past the proxy's metricExpiry, then counts afresh", () => {
    let now = 0;
    const aggregate = createMetricAggregate({ clock: () => now });
    const once = (b: ReturnType<typeof createMetricBatcher>) => b.count("istio_requests_total", labels, 1);
    aggregate.add(batch("edge~a", once, 1_000));
    now = 999;
    expect(aggregate.seriesCount()).toEqual({ istio_requests_total: 1 });
    now = 1_000;
    expect(aggregate.seriesCount()).toEqual({});
    expect(aggregate.text()).toBe("");
    aggregate.add(batch("edge~a", once, 1_000));
    expect(aggregate.text()).toMatch(/istio_requests_total\{[^}]*\} 1\n/);
  });
});
