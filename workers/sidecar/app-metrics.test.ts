import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { Counter, Histogram, Registry } from "prom-client";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { silentLogger } from "../../broker/logger.ts";
import { checkMetrics, ISTIO_NAME_LINTS } from "../../test/support/promtool.ts";
import { mergeExpositions, readAppMetricsEnv } from "./app-metrics.ts";
import { type Sidecar, startSidecar } from "./sidecar.ts";
import {
  call,
  service,
  startTestApp,
  startTestMesh,
  type TestMesh,
  waitFor,
  workloadEntry,
} from "./test-mesh.ts";

/**
 * Istio's metrics merging, for real: an app serves its own prom-client metrics (one family named
 * like a proxy metric); its sidecar's `/stats/prometheus` serves both as one promtool-clean
 * exposition, and keeps serving the proxy's metrics when the app's endpoint fails.
 */

let mesh: TestMesh;
let metricsServer: Server;
let appMetricsUp = true;
let sidecar: Sidecar;
const stops: Array<() => Promise<void>> = [];

beforeAll(async () => {
  mesh = await startTestMesh();
  const registry = new Registry();
  new Counter({ name: "orders_total", help: "Orders placed.", labelNames: ["shop"], registers: [registry] })
    .labels("north")
    .inc(3);
  new Histogram({
    name: "checkout_seconds",
    help: "Checkout time.",
    buckets: [0.1, 1],
    registers: [registry],
  }).observe(0.3);
  // Same name as the proxy's counter: must not appear twice.
  new Counter({
    name: "istio_requests_total",
    help: "An app reusing Istio's name.",
    registers: [registry],
  }).inc(99);
  metricsServer = createServer(async (req, res) => {
    if (!appMetricsUp || req.url !== "/custom/metrics") return void res.writeHead(500).end("broken");
    res.writeHead(200, { "content-type": registry.contentType }).end(await registry.metrics());
  });
  await new Promise<void>((resolve) => metricsServer.listen(0, "127.0.0.1", resolve));
  stops.push(() => new Promise((resolve) => metricsServer.close(() => resolve())));
  const app = await startTestApp("shop-v1");
  stops.push(() => app.stop());
  sidecar = await startSidecar({
    nc: mesh.nc,
    verifier: mesh.verifier,
    proxy: { id: "sidecar~shop-v1~default", role: "sidecar", namespace: "default", labels: { app: "shop" } },
    appPort: app.port,
    adminPort: 0,
    log: silentLogger,
    appMetrics: { port: (metricsServer.address() as AddressInfo).port, path: "/custom/metrics" },
  });
  stops.push(() => sidecar.stop());
  const revision = await mesh.apply(
    service("shop"),
    workloadEntry("shop-v1", { app: "shop" }, sidecar.inboundPort),
  );
  await waitFor(() => sidecar.snapshot().revision >= revision, 5_000, "policy");
  expect((await call(sidecar.outboundPort, "shop:9080", "/")).status).toBe(200);
}, 30_000);

afterAll(async () => {
  for (const stop of stops.reverse()) await stop().catch(() => {});
  await mesh?.stop();
});

const scrape = async () => (await call(sidecar.adminPort ?? 0, "admin", "/stats/prometheus")).body;
const sampleLines = (text: string, name: string) =>
  text.split("\n").filter((l) => l.startsWith(`${name}{`) || l.startsWith(`${name} `));

describe("app metrics merged into the sidecar's scrape endpoint", () => {
  it("serves the proxy's and the app's metrics as one valid exposition, the proxy's winning a name clash", async () => {
    const text = await scrape();
    expect(sampleLines(text, "orders_total")).toEqual(['orders_total{shop="north"} 3']);
    expect(sampleLines(text, "checkout_seconds_count")).toEqual(["checkout_seconds_count 1"]);
    const requests = sampleLines(text, "istio_requests_total");
    expect(requests.length).toBeGreaterThan(0); // the proxy's series (both reporters), never the app's 99
    for (const line of requests)
      expect(line).toMatch(/^istio_requests_total\{.*source_workload="shop-v1".*\} 1$/);
    expect(text.match(/^# TYPE istio_requests_total /gm)).toHaveLength(1);
    expect(sampleLines(text, "jibe_app_metrics_scrape_failures_total")).toEqual([
      "jibe_app_metrics_scrape_failures_total 0",
    ]);
    expect(checkMetrics(text, ISTIO_NAME_LINTS)).toMatchObject({ ok: true, problems: [] });
  });

  it("still serves the proxy's metrics when the app's endpoint fails, and counts the failure", async () => {
    appMetricsUp = false;
    try {
      const text = await scrape();
      expect(sampleLines(text, "orders_total")).toEqual([]);
      expect(sampleLines(text, "istio_requests_total").length).toBeGreaterThan(0);
      expect(sampleLines(text, "jibe_app_metrics_scrape_failures_total")).toEqual([
        "jibe_app_metrics_scrape_failures_total 1",
      ]);
      expect(checkMetrics(text, ISTIO_NAME_LINTS)).toMatchObject({ ok: true, problems: [] });
    } finally {
      appMetricsUp = true;
    }
  });

  it("merges family by family: histogram parts stay together, OpenMetrics' # EOF is dropped", () => {
    const proxy = "# HELP a_total A.\n# TYPE a_total counter\na_total 1\n";
    const app = [
      "# HELP h H.",
      "# TYPE h histogram",
      'h_bucket{le="1"} 1',
      'h_bucket{le="+Inf"} 1',
      "h_sum 0.5",
      "h_count 1",
      "# TYPE a_total counter",
      "a_total 7",
      "untyped_thing 2",
      "# EOF",
    ].join("\n");
    const merged = mergeExpositions(proxy, app);
    expect(merged.dropped).toEqual(["a_total"]);
    expect(merged.text).toBe(
      `${proxy}# HELP h H.\n# TYPE h histogram\nh_bucket{le="1"} 1\nh_bucket{le="+Inf"} 1\nh_sum 0.5\nh_count 1\nuntyped_thing 2\n`,
    );
    expect(checkMetrics(merged.text, [/^untyped_thing no help text$/])).toMatchObject({
      ok: true,
      problems: [],
    });
  });

  it("reads the app's endpoint from JIBE_APP_METRICS_* or Istio's ISTIO_PROMETHEUS_ANNOTATIONS", () => {
    expect(readAppMetricsEnv({})).toBeUndefined();
    expect(readAppMetricsEnv({ JIBE_APP_METRICS_PORT: "9090" })).toEqual({ port: 9090 });
    expect(
      readAppMetricsEnv({ ISTIO_PROMETHEUS_ANNOTATIONS: '{"scrape":"true","port":"8080","path":"/stats"}' }),
    ).toEqual({ port: 8080, path: "/stats" });
    expect(
      readAppMetricsEnv({ ISTIO_PROMETHEUS_ANNOTATIONS: '{"scrape":"false","port":"8080"}' }),
    ).toBeUndefined();
    expect(() => readAppMetricsEnv({ JIBE_APP_METRICS_PORT: "http" })).toThrow(/JIBE_APP_METRICS_PORT=http/);
  });
});
