import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type LocalMesh, startLocalMesh } from "../../control/local-mesh/mesh.ts";
import { type OtlpReceiver, type ReceivedSpan, startOtlpReceiver } from "../support/otlp-receiver.ts";
import { type PrometheusHandle, startPrometheus } from "../support/prometheus.ts";
import { checkMetrics, ISTIO_NAME_LINTS } from "../support/promtool.ts";
import { waitFor } from "../support/wait-for.ts";

/**
 * The sample mesh for real (nats-server, control plane, bookinfo behind sidecars, the edge worker
 * in workerd) at 100% sampling, with an OTLP/HTTP receiver: a request entering at the edge is one
 * trace edge → productpage → reviews → ratings, whether the apps copy the trace headers themselves
 * (as Istio requires) or know nothing about tracing and run with `--import jibe/propagation`.
 * The edge's Istio metrics arrive over NATS at the control plane's `/stats/prometheus`, which a real
 * Prometheus scrapes next to the sidecars' admin ports.
 */

const SERVER = 2;
const CLIENT = 3;

interface Page {
  reviews?: { version?: string; ratings?: { service?: string } };
}

/** Requests pages until one went through reviews v2/v3 (which call ratings); its request id. */
async function pageThroughRatings(mesh: LocalMesh, tag: string): Promise<string> {
  for (let i = 0; i < 30; i++) {
    const requestId = `${tag}-${i}`;
    const response = await fetch(`${mesh.edgeUrl}/productpage`, { headers: { "x-request-id": requestId } });
    expect(response.status).toBe(200);
    expect(response.headers.get("x-jibe-peer")).toBeNull(); // peer metadata never reaches clients
    const page = (await response.json()) as Page;
    if (page.reviews?.ratings?.service === "ratings") return requestId;
  }
  throw new Error("no page went through ratings in 30 tries");
}

/** The spans of the trace whose edge span carries `requestId`, once all `count` arrived. */
async function traceOf(otlp: OtlpReceiver, requestId: string, count: number): Promise<ReceivedSpan[]> {
  let traceId: string | undefined;
  await waitFor(
    () => {
      traceId ??= otlp.spans.find((s) => s.attributes["guid:x-request-id"] === requestId)?.traceId;
      return traceId !== undefined && otlp.spans.filter((s) => s.traceId === traceId).length >= count;
    },
    { timeoutMs: 15_000, intervalMs: 50, what: `${count} spans of request ${requestId}` },
  );
  return otlp.spans.filter((s) => s.traceId === traceId);
}

/** Checks the whole chain and returns it: edge → productpage → reviews → ratings (and details). */
function expectOneLinkedTrace(spans: ReceivedSpan[], requestId: string): void {
  const byId = new Map(spans.map((s) => [s.spanId, s]));
  const roots = spans.filter((s) => s.parentSpanId === undefined);
  expect(roots.map((s) => [s.service, s.kind])).toEqual([["jibe-edge.default", CLIENT]]);
  for (const span of spans) {
    expect(span.attributes["guid:x-request-id"]).toBe(requestId);
    if (span.parentSpanId !== undefined) expect(byId.has(span.parentSpanId), span.name).toBe(true);
  }
  const child = (parent: ReceivedSpan | undefined, service: string, kind: number, host: string) => {
    const found = spans.filter(
      (s) =>
        s.parentSpanId === parent?.spanId &&
        s.service === service &&
        s.kind === kind &&
        s.name.startsWith(host),
    );
    expect(found, `${service} ${kind === CLIENT ? "client" : "server"} span → ${host}`).toHaveLength(1);
    return found[0];
  };
  const edge = roots[0];
  const productpage = child(edge, "productpage.default", SERVER, "productpage.default.svc.cluster.local");
  const toReviews = child(productpage, "productpage.default", CLIENT, "reviews.default.svc.cluster.local");
  const toDetails = child(productpage, "productpage.default", CLIENT, "details.default.svc.cluster.local");
  child(toDetails, "details.default", SERVER, "details.default.svc.cluster.local");
  const reviews = child(toReviews, "reviews.default", SERVER, "reviews.default.svc.cluster.local");
  const toRatings = child(reviews, "reviews.default", CLIENT, "ratings.default.svc.cluster.local");
  child(toRatings, "ratings.default", SERVER, "ratings.default.svc.cluster.local");
  expect(spans).toHaveLength(8);
}

describe("apps that copy the trace headers (Istio's way)", () => {
  let mesh: LocalMesh;
  let otlp: OtlpReceiver;

  beforeAll(async () => {
    otlp = await startOtlpReceiver();
    mesh = await startLocalMesh({ adminPort: 0, edgePort: 0, otlpEndpoint: otlp.url });
  }, 120_000);

  afterAll(async () => {
    await mesh?.stop();
    await otlp?.stop();
  });

  it("one request through the edge is one trace with the right parent/child links", async () => {
    const requestId = await pageThroughRatings(mesh, "copying");
    expectOneLinkedTrace(await traceOf(otlp, requestId, 8), requestId);
  }, 60_000);

  it("continues a trace the client started, under the client's span", async () => {
    const traceId = "4bf92f3577b34da6a3ce929d0e0e4736";
    const response = await fetch(`${mesh.edgeUrl}/productpage`, {
      headers: { traceparent: `00-${traceId}-00f067aa0ba902b7-01`, "x-request-id": "client-started" },
    });
    expect(response.status).toBe(200);
    const spans = await traceOf(otlp, "client-started", 6);
    const edge = spans.find((s) => s.service === "jibe-edge.default");
    expect(edge?.traceId).toBe(traceId);
    expect(edge?.parentSpanId).toBe("00f067aa0ba902b7");
  }, 30_000);

  it("pushes the edge's Istio metrics over NATS to the control plane's promtool-clean /stats/prometheus", async () => {
    for (let i = 0; i < 3; i++) await fetch(`${mesh.edgeUrl}/productpage`).then((r) => r.arrayBuffer());
    await fetch(`${mesh.edgeUrl}/nowhere`).then((r) => r.arrayBuffer()); // 404 NR at the edge
    let text = "";
    await waitFor(
      async () => {
        text = await (await fetch(`${mesh.adminUrl}/stats/prometheus`)).text();
        return /istio_requests_total\{[^}]*response_flags="NR"/.test(text);
      },
      { timeoutMs: 10_000, intervalMs: 200, what: "edge metrics at the control plane" },
    );
    const routed = text
      .split("\n")
      .find(
        (l) => l.startsWith("istio_requests_total{") && l.includes('destination_workload="productpage-v1"'),
      );
    expect(routed).toContain('reporter="source"');
    expect(routed).toContain('source_workload="jibe-edge"');
    expect(routed).toContain('destination_service="productpage.default.svc.cluster.local"');
    expect(routed).toContain('response_code="200"');
    expect(Number(routed?.split(" ").pop())).toBeGreaterThanOrEqual(3);
    expect(text).toMatch(/istio_request_duration_milliseconds_bucket\{[^}]*le="0.5"/);
    expect(checkMetrics(text, ISTIO_NAME_LINTS)).toMatchObject({ ok: true, problems: [] });
  }, 30_000);

  it("a real Prometheus scraping the control plane and the sidecars' admin ports sees edge → productpage from both sides", async () => {
    const productpage = mesh.workloads.find((w) => w.service === "productpage");
    const admin = new URL(mesh.adminUrl);
    let prometheus: PrometheusHandle | undefined;
    try {
      prometheus = await startPrometheus({
        targets: [admin.host, `127.0.0.1:${productpage?.adminPort}`],
        metricsPath: "/stats/prometheus",
      });
      const query =
        'sum by (reporter, source_workload, destination_workload) (rate(istio_requests_total{source_workload="jibe-edge",destination_workload="productpage-v1"}[10s]))';
      let result: Awaited<ReturnType<PrometheusHandle["query"]>> = [];
      const deadline = Date.now() + 25_000;
      while (Date.now() < deadline) {
        for (let i = 0; i < 3; i++) await fetch(`${mesh.edgeUrl}/productpage`).then((r) => r.arrayBuffer());
        result = await prometheus.query(query);
        if (result.length === 2 && result.every((r) => Number(r.value[1]) > 0)) break;
        await new Promise((resolve) => setTimeout(resolve, 500));
      }
      expect((await prometheus.targets()).map((t) => [t.health, t.lastError])).toEqual([
        ["up", ""],
        ["up", ""],
      ]);
      expect(result.map((r) => r.metric.reporter).sort()).toEqual(["destination", "source"]);
      for (const r of result) expect(Number(r.value[1])).toBeGreaterThan(0);
    } finally {
      await prometheus?.stop();
    }
  }, 45_000);
});

describe("apps that copy no trace header, run with --import jibe/propagation", () => {
  let mesh: LocalMesh;
  let otlp: OtlpReceiver;

  beforeAll(async () => {
    otlp = await startOtlpReceiver();
    mesh = await startLocalMesh({ adminPort: 0, edgePort: 0, otlpEndpoint: otlp.url, sampleApps: "preload" });
  }, 120_000);

  afterAll(async () => {
    await mesh?.stop();
    await otlp?.stop();
  });

  it("one request through the edge is still one trace with the right parent/child links", async () => {
    const requestId = await pageThroughRatings(mesh, "preloaded");
    expectOneLinkedTrace(await traceOf(otlp, requestId, 8), requestId);
  }, 60_000);
});
