import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { silentLogger } from "../../broker/logger.ts";
import { type Sidecar, startSidecar } from "../../workers/sidecar/sidecar.ts";
import {
  call,
  freePort,
  service,
  startTestApp,
  startTestMesh,
  type TestMesh,
  waitFor,
  workloadEntry,
} from "../../workers/sidecar/test-mesh.ts";
import { type PrometheusHandle, startPrometheus } from "../support/prometheus.ts";

/**
 * A real Prometheus scrapes two sidecars' `/stats/prometheus` and answers the PromQL every Istio
 * dashboard starts with: request rate by source and destination workload.
 */

let mesh: TestMesh;
let prometheus: PrometheusHandle | undefined;
const stops: Array<() => Promise<void>> = [];

async function sidecar(app: string, appPort: number): Promise<Sidecar> {
  const started = await startSidecar({
    nc: mesh.nc,
    verifier: mesh.verifier,
    proxy: {
      id: `sidecar~${app}-v1~default`,
      role: "sidecar",
      namespace: "default",
      labels: { app, version: "v1" },
    },
    appPort,
    adminPort: 0,
    log: silentLogger,
  });
  stops.push(() => started.stop());
  return started;
}

let productpage: Sidecar;
let reviews: Sidecar;

beforeAll(async () => {
  mesh = await startTestMesh();
  const app = await startTestApp("reviews-v1");
  stops.push(() => app.stop());
  reviews = await sidecar("reviews", app.port);
  productpage = await sidecar("productpage", await freePort());
  const revision = await mesh.apply(
    service("reviews"),
    workloadEntry("reviews-v1", { app: "reviews", version: "v1" }, reviews.inboundPort),
  );
  await waitFor(() => productpage.snapshot().revision >= revision, 5_000, "policy");
  prometheus = await startPrometheus({
    targets: [`127.0.0.1:${productpage.adminPort}`, `127.0.0.1:${reviews.adminPort}`],
    metricsPath: "/stats/prometheus",
  });
}, 60_000);

afterAll(async () => {
  await prometheus?.stop();
  for (const stop of stops.reverse()) await stop().catch(() => {});
  await mesh?.stop();
});

describe("Prometheus end to end", () => {
  it("scrapes both sidecars and answers request rate by source and destination workload", async () => {
    const query =
      'sum by (source_workload, destination_workload, reporter) (rate(istio_requests_total{destination_service="reviews.default.svc.cluster.local"}[10s]))';
    const deadline = Date.now() + 25_000;
    let result: Awaited<ReturnType<PrometheusHandle["query"]>> = [];
    while (Date.now() < deadline) {
      for (let i = 0; i < 5; i++)
        expect((await call(productpage.outboundPort, "reviews:9080", "/")).status).toBe(200);
      result = (await prometheus?.query(query)) ?? [];
      if (result.length === 2 && result.every((r) => Number(r.value[1]) > 0)) break;
      await new Promise((resolve) => setTimeout(resolve, 500));
    }
    const targets = (await prometheus?.targets()) ?? [];
    expect(targets.map((t) => [t.health, t.lastError])).toEqual([
      ["up", ""],
      ["up", ""],
    ]);
    expect(
      result.map((r) => r.metric).sort((a, b) => String(a.reporter).localeCompare(String(b.reporter))),
    ).toEqual([
      { reporter: "destination", source_workload: "productpage-v1", destination_workload: "reviews-v1" },
      { reporter: "source", source_workload: "productpage-v1", destination_workload: "reviews-v1" },
    ]);
    for (const r of result) expect(Number(r.value[1])).toBeGreaterThan(0);
  }, 40_000);
});
