import { Agent, request } from "node:http";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { silentLogger } from "../../broker/logger.ts";
import { type OtlpReceiver, startOtlpReceiver } from "../../test/support/otlp-receiver.ts";
import { checkMetrics, findPromtool, ISTIO_NAME_LINTS } from "../../test/support/promtool.ts";
import { PEER_HEADER } from "../telemetry/index.ts";
import { type Sidecar, startSidecar } from "./sidecar.ts";
import type { SidecarTelemetryOptions } from "./sidecar-telemetry.ts";
import {
  call,
  freePort,
  service,
  startTestApp,
  startTestMesh,
  type TestApp,
  type TestMesh,
  waitFor,
  workloadEntry,
} from "./test-mesh.ts";

/**
 * Real nats-server, real sidecars, real HTTP: client workloads call `reviews` through their own
 * outbound sidecar and the reviews sidecar's inbound listener; metrics come from each sidecar's
 * admin port, spans arrive at a local OTLP/HTTP receiver.
 */

let mesh: TestMesh;
let reviewsApp: TestApp;
let reviews: Sidecar;
let otlp: OtlpReceiver;
const stops: Array<() => Promise<void>> = [];

async function sidecar(
  app: string,
  appPort: number,
  telemetry: SidecarTelemetryOptions = {},
): Promise<Sidecar> {
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
    telemetry: {
      tracingProviders: { otel: { otlpHttpEndpoint: otlp.url } },
      spanExportDelayMs: 20,
      ...telemetry,
    },
  });
  stops.push(() => started.stop());
  return started;
}

async function client(app: string, telemetry: SidecarTelemetryOptions = {}): Promise<Sidecar> {
  return sidecar(app, await freePort(), telemetry);
}

async function scrape(proxy: Sidecar): Promise<string> {
  const answer = await call(proxy.adminPort ?? 0, "admin", "/stats/prometheus");
  expect(answer.status).toBe(200);
  expect(answer.headers["content-type"]).toMatch(/^text\/plain; version=0\.0\.4/);
  return answer.body;
}

interface Series {
  labels: Record<string, string>;
  value: number;
}

function series(text: string, name: string): Series[] {
  const out: Series[] = [];
  for (const line of text.split("\n")) {
    if (!line.startsWith(`${name}{`)) continue;
    const close = line.lastIndexOf("}");
    const labels: Record<string, string> = {};
    for (const m of line.slice(name.length + 1, close).matchAll(/(\w+)="((?:[^"\\]|\\.)*)"/g))
      labels[m[1] ?? ""] = m[2] ?? "";
    out.push({ labels, value: Number(line.slice(close + 1).trim()) });
  }
  return out;
}

const applyAndWait = (proxies: Sidecar[], ...documents: object[]) => mesh.applyAndWait(proxies, ...documents);

function telemetryFor(app: string, spec: object): object {
  return {
    apiVersion: "telemetry.istio.io/v1",
    kind: "Telemetry",
    metadata: { name: app, namespace: "default" },
    spec: { selector: { matchLabels: { app } }, ...spec },
  };
}

/** A Sidecar for one app's workloads: hosts outside the registry answer 502 `NR`, with no DNS lookup. */
function registryOnly(app: string): object {
  return {
    apiVersion: "networking.istio.io/v1",
    kind: "Sidecar",
    metadata: { name: app, namespace: "default" },
    spec: { workloadSelector: { labels: { app } }, outboundTrafficPolicy: { mode: "REGISTRY_ONLY" } },
  };
}

beforeAll(async () => {
  findPromtool(); // fail early, with the install hint, when promtool is missing
  mesh = await startTestMesh();
  otlp = await startOtlpReceiver();
  stops.push(() => otlp.stop());
  reviewsApp = await startTestApp("reviews-v1");
  stops.push(() => reviewsApp.stop());
  reviews = await sidecar("reviews", reviewsApp.port);
  const revision = await mesh.apply(
    service("reviews"),
    workloadEntry("reviews-v1", { app: "reviews", version: "v1" }, reviews.inboundPort),
  );
  await waitFor(() => reviews.snapshot().revision >= revision, 5_000, "reviews sidecar policy");
}, 60_000);

afterAll(async () => {
  for (const stop of stops.reverse()) await stop().catch(() => {});
  await mesh?.stop();
});

describe("Istio metrics", () => {
  it("labels a two-sidecar call from both reporters, with peer metadata the apps never see", async () => {
    const productpage = await client("productpage");
    await waitFor(() => productpage.snapshot().revision >= reviews.snapshot().revision, 5_000, "policy");
    const answer = await call(productpage.outboundPort, "reviews:9080", "/reviews/1");
    expect(answer.status).toBe(200);
    expect(answer.headers[PEER_HEADER]).toBeUndefined();
    expect(reviewsApp.lastHeaders[PEER_HEADER]).toBeUndefined();
    const direct = await call(reviews.inboundPort, "reviews:9080", "/"); // a caller outside the mesh
    expect(direct.headers[PEER_HEADER]).toBeUndefined();

    const expected = {
      source_workload: "productpage-v1",
      source_workload_namespace: "default",
      source_app: "productpage",
      source_version: "v1",
      source_canonical_service: "productpage",
      source_canonical_revision: "v1",
      source_cluster: "Kubernetes",
      source_principal: "unknown",
      destination_workload: "reviews-v1",
      destination_workload_namespace: "default",
      destination_app: "reviews",
      destination_version: "v1",
      destination_canonical_service: "reviews",
      destination_canonical_revision: "v1",
      destination_cluster: "Kubernetes",
      destination_principal: "unknown",
      destination_service: "reviews.default.svc.cluster.local",
      destination_service_name: "reviews",
      destination_service_namespace: "default",
      request_protocol: "http",
      response_code: "200",
      grpc_response_status: "",
      response_flags: "-",
    };
    const fromClient = series(await scrape(productpage), "istio_requests_total");
    expect(fromClient).toEqual([
      { labels: { reporter: "source", ...expected, connection_security_policy: "unknown" }, value: 1 },
    ]);
    const fromServer = series(await scrape(reviews), "istio_requests_total").filter(
      (s) => s.labels.source_workload === "productpage-v1",
    );
    expect(fromServer).toEqual([
      { labels: { reporter: "destination", ...expected, connection_security_policy: "none" }, value: 1 },
    ]);
  });

  it("passes promtool check metrics on every sidecar endpoint, with Envoy's millisecond buckets", async () => {
    const details = await client("details");
    await call(details.outboundPort, "reviews:9080", "/");
    // Outside the registry: passed through (ALLOW_ANY), a PassthroughCluster series.
    await call(details.outboundPort, `127.0.0.1:${reviewsApp.port}`, "/");
    for (const proxy of [details, reviews]) {
      const text = await scrape(proxy);
      const result = checkMetrics(text, ISTIO_NAME_LINTS);
      expect(result.problems).toEqual([]);
      expect(result.ok).toBe(true);
      const les = series(text, "istio_request_duration_milliseconds_bucket").map((s) => s.labels.le);
      expect(les).toContain("0.5");
      expect(les).toContain("3600000");
    }
    const passedThrough = series(await scrape(details), "istio_requests_total").filter(
      (s) => s.labels.destination_service_name === "PassthroughCluster",
    );
    expect(passedThrough.map((s) => [s.labels.destination_service, s.labels.response_code])).toEqual([
      ["127.0.0.1", "200"],
    ]);
    expect(checkMetrics("bad metric{", ISTIO_NAME_LINTS).ok).toBe(false); // promtool really checks
  });

  it("measures request and response body bytes, streamed or sized, and relays the body intact", async () => {
    const uploader = await client("uploader");
    const body = Buffer.alloc(5000, "x");
    const sized = await call(uploader.outboundPort, "reviews:9080", "/echo", { method: "POST", body });
    expect(sized.body).toBe(body.toString());
    const chunked = await new Promise<string>((resolve, reject) => {
      const req = request(
        {
          host: "127.0.0.1",
          port: uploader.outboundPort,
          path: "/echo",
          method: "POST",
          headers: { host: "reviews:9080" },
        },
        (res) => {
          const chunks: Buffer[] = [];
          res.on("data", (c: Buffer) => chunks.push(c));
          res.on("end", () => resolve(Buffer.concat(chunks).toString()));
        },
      );
      req.on("error", reject);
      req.write("a".repeat(700));
      setTimeout(() => req.end("b".repeat(300)), 20);
    });
    expect(chunked).toBe(`${"a".repeat(700)}${"b".repeat(300)}`);
    const text = await scrape(uploader);
    expect(series(text, "istio_request_bytes_sum")[0]?.value).toBe(6000);
    expect(series(text, "istio_response_bytes_sum")[0]?.value).toBe(6000);
    expect(series(text, "istio_request_bytes_count")[0]?.value).toBe(2);
  });

  it("applies tagOverrides and custom histogram buckets from a Telemetry resource", async () => {
    const tenant = await client("tenant");
    await applyAndWait(
      [tenant],
      telemetryFor("tenant", {
        metrics: [
          {
            overrides: [
              {
                match: { metric: "ALL_METRICS", mode: "CLIENT" },
                tagOverrides: {
                  request_protocol: { operation: "REMOVE" },
                  tenant: { value: "request.headers['x-tenant']" },
                },
              },
            ],
            histogramBuckets: { REQUEST_DURATION: [1, 10, 100] },
          },
        ],
      }),
    );
    await call(tenant.outboundPort, "reviews:9080", "/", { headers: { "x-tenant": "acme" } });
    const text = await scrape(tenant);
    const [count] = series(text, "istio_requests_total");
    expect(count?.labels.tenant).toBe("acme");
    expect(count?.labels).not.toHaveProperty("request_protocol");
    const les = series(text, "istio_request_duration_milliseconds_bucket").map((s) => s.labels.le);
    expect(les).toEqual(["1", "10", "100", "+Inf"]);
    expect(checkMetrics(text, ISTIO_NAME_LINTS)).toMatchObject({ ok: true, problems: [] });
  });

  it("drops series idle longer than the Telemetry's metricExpiry", async () => {
    const batch = await client("batch");
    await applyAndWait([batch], telemetryFor("batch", { metrics: [{ metricExpiry: "1s" }] }));
    await call(batch.outboundPort, "reviews:9080", "/");
    expect(series(await scrape(batch), "istio_requests_total")).toHaveLength(1);
    await new Promise((resolve) => setTimeout(resolve, 1300));
    const text = await scrape(batch);
    expect(series(text, "istio_requests_total")).toHaveLength(0);
    expect(series(text, "istio_request_duration_milliseconds_count")).toHaveLength(0);
    expect(batch.stats().metricSeries.istio_requests_total).toBe(0);
    await call(batch.outboundPort, "reviews:9080", "/");
    expect(series(await scrape(batch), "istio_requests_total")[0]?.value).toBe(1);
  });

  it("adds no series for 1,000 distinct Host headers when host-header fallback is off", async () => {
    const crawler = await client("crawler");
    const fallback = await client("fallback");
    await applyAndWait(
      [crawler, fallback],
      telemetryFor("crawler", { metrics: [{ hostHeaderFallback: false }] }),
      registryOnly("crawler"),
      registryOnly("fallback"),
    );
    const agent = new Agent({ keepAlive: true, maxSockets: 8 });
    const hit = (proxy: Sidecar, i: number) =>
      call(proxy.outboundPort, `host-${i}.example.com`, "/", { agent });
    for (let i = 0; i < 1000; i += 50) {
      const answers = await Promise.all(Array.from({ length: 50 }, (_, k) => hit(crawler, i + k)));
      expect(answers.every((a) => a.status === 502)).toBe(true);
    }
    for (let i = 0; i < 20; i++) await hit(fallback, i);
    agent.destroy();
    const counts = series(await scrape(crawler), "istio_requests_total");
    expect(counts).toHaveLength(1);
    expect(counts[0]?.labels).toMatchObject({ destination_service: "unknown", response_flags: "NR" });
    expect(counts[0]?.value).toBe(1000);
    expect(series(await scrape(fallback), "istio_requests_total")).toHaveLength(20); // Istio's default
  });
});

describe("access log", () => {
  it("writes Envoy-style JSON lines, filtered and switchable by Telemetry", async () => {
    const lines: string[] = [];
    const logged = await client("logged", { mesh: { accessLog: true }, accessLogSink: (l) => lines.push(l) });
    await applyAndWait([logged], registryOnly("logged"));
    await call(logged.outboundPort, "nowhere:9080", "/missing?q=1", { headers: { "user-agent": "probe" } });
    await waitFor(() => lines.length === 1, 2_000, "access log line");
    const entry = JSON.parse(lines[0] ?? "{}") as Record<string, unknown>;
    expect(entry).toMatchObject({
      reporter: "source",
      method: "GET",
      path: "/missing?q=1",
      authority: "nowhere:9080",
      response_code: 502,
      response_flags: "NR",
      user_agent: "probe",
      source_workload: "logged-v1",
      destination_service: "nowhere",
      upstream_host: null,
    });
    expect(entry.request_id).toMatch(/^[0-9a-f-]{36}$/);

    await applyAndWait(
      [logged],
      telemetryFor("logged", { accessLogging: [{ filter: { expression: "response.code >= 500" } }] }),
    );
    await call(logged.outboundPort, "nowhere:9080", "/");
    await call(logged.outboundPort, "reviews:9080", "/");
    await waitFor(() => lines.length === 2, 2_000, "the 502 line the filter keeps");
    await applyAndWait([logged], telemetryFor("logged", { accessLogging: [{ disabled: true }] }));
    await call(logged.outboundPort, "nowhere:9080", "/");
    await new Promise((resolve) => setTimeout(resolve, 50));
    // The filter kept the 502 and dropped the 200; disabled, nothing more is written.
    expect(lines.map((l) => (JSON.parse(l) as { path: string }).path)).toEqual(["/missing?q=1", "/"]);
  });
});

describe("tracing", () => {
  it("exports one span per hop, linked parent → child across two sidecars, and propagates both formats", async () => {
    const frontend = await client("frontend", { mesh: { samplingPercentage: 100 } });
    await applyAndWait(
      [frontend, reviews],
      telemetryFor("reviews", { tracing: [{ randomSamplingPercentage: 100 }] }),
    );
    const answer = await call(frontend.outboundPort, "reviews:9080", "/reviews/7");
    expect(answer.status).toBe(200);
    const seen = reviewsApp.lastHeaders;
    const [, traceId, appSpanId, flags] = String(seen.traceparent).split("-");
    expect(flags).toBe("01");
    expect(seen["x-b3-traceid"]).toBe(traceId);
    expect(seen["x-b3-spanid"]).toBe(appSpanId);
    expect(seen.b3).toBe(`${traceId}-${appSpanId}-1-${seen["x-b3-parentspanid"]}`);
    expect(seen["x-request-id"]).toBeDefined();

    await Promise.all([frontend.flushSpans(), reviews.flushSpans()]);
    await waitFor(() => otlp.spans.filter((s) => s.traceId === traceId).length === 2, 5_000, "two spans");
    const spans = otlp.spans.filter((s) => s.traceId === traceId);
    const clientSpan = spans.find((s) => s.kind === 3);
    const serverSpan = spans.find((s) => s.kind === 2);
    expect(clientSpan?.parentSpanId).toBeUndefined();
    expect(serverSpan?.parentSpanId).toBe(clientSpan?.spanId);
    expect(serverSpan?.spanId).toBe(appSpanId);
    expect(clientSpan?.service).toBe("frontend.default");
    expect(serverSpan?.service).toBe("reviews.default");
    expect(clientSpan?.name).toBe("reviews.default.svc.cluster.local:9080/*");
    expect(clientSpan?.attributes).toMatchObject({
      "http.method": "GET",
      "http.status_code": 200,
      upstream_cluster: "outbound|9080||reviews.default.svc.cluster.local",
      "guid:x-request-id": seen["x-request-id"],
      response_flags: "-",
    });
  });

  it("names an inbound span after the Service port, not the port of the caller's Host", async () => {
    const traceId = "5cf92f3577b34da6a3ce929d0e0e4737";
    // As the edge does: the inbound listener is reached with the outside Host (and its port) kept.
    const answer = await call(reviews.inboundPort, "shop.example.com:8443", "/reviews/1", {
      headers: { traceparent: `00-${traceId}-00f067aa0ba902b7-01` },
    });
    expect(answer.status).toBe(200);
    await reviews.flushSpans();
    await waitFor(() => otlp.spans.some((s) => s.traceId === traceId), 5_000, "server span");
    const serverSpan = otlp.spans.find((s) => s.traceId === traceId);
    expect(serverSpan?.kind).toBe(2);
    expect(serverSpan?.name).toBe("reviews.default.svc.cluster.local:9080/*");
  });

  it("continues the caller's trace and honours its 'not sampled' decision", async () => {
    const caller = await client("caller", { mesh: { samplingPercentage: 100 } });
    const traceId = "4bf92f3577b34da6a3ce929d0e0e4736";
    await call(caller.outboundPort, "reviews:9080", "/", {
      headers: { traceparent: `00-${traceId}-00f067aa0ba902b7-01` },
    });
    await call(caller.outboundPort, "reviews:9080", "/", {
      headers: { traceparent: "00-11111111111111111111111111111111-00f067aa0ba902b7-00" },
    });
    await Promise.all([caller.flushSpans(), reviews.flushSpans()]);
    await waitFor(() => otlp.spans.filter((s) => s.traceId === traceId).length === 2, 5_000, "spans");
    const clientSpan = otlp.spans.find((s) => s.traceId === traceId && s.kind === 3);
    expect(clientSpan?.parentSpanId).toBe("00f067aa0ba902b7");
    expect(otlp.spans.some((s) => s.traceId === "11111111111111111111111111111111")).toBe(false);
    expect(reviewsApp.lastHeaders.traceparent).toMatch(
      /^00-11111111111111111111111111111111-[0-9a-f]{16}-00$/,
    );
  });

  it("exports to the collector the mesh config declares (extensionProviders opentelemetry)", async () => {
    const collector = new URL(otlp.url);
    // No provider of its own: the mesh config (ConfigMap istio-system/istio) says where spans go.
    const meshTraced = await client("mesh-traced", {
      tracingProviders: {},
      mesh: { samplingPercentage: 100 },
    });
    await applyAndWait([meshTraced], {
      apiVersion: "v1",
      kind: "ConfigMap",
      metadata: { name: "istio", namespace: "istio-system" },
      data: {
        mesh: [
          "defaultProviders:",
          "  tracing: [collector]",
          "extensionProviders:",
          "- name: collector",
          "  opentelemetry:",
          `    service: ${collector.hostname}`,
          `    port: ${collector.port}`,
          `    http: { path: ${collector.pathname} }`,
          "",
        ].join("\n"),
      },
    });
    const traceId = "6cf92f3577b34da6a3ce929d0e0e4738";
    await call(meshTraced.outboundPort, "reviews:9080", "/", {
      headers: { traceparent: `00-${traceId}-00f067aa0ba902b7-01` },
    });
    await meshTraced.flushSpans();
    await waitFor(() => otlp.spans.some((s) => s.traceId === traceId && s.kind === 3), 5_000, "client span");
    expect(otlp.spans.find((s) => s.traceId === traceId && s.kind === 3)?.service).toBe(
      "mesh-traced.default",
    );
  });

  it("samples about 1% by default and sends nothing for unsampled requests", async () => {
    const quiet = await client("quiet");
    const before = otlp.spans.length;
    const traceIds = new Set<string>();
    for (let i = 0; i < 20; i++) {
      await call(quiet.outboundPort, "reviews:9080", "/");
      traceIds.add(String(reviewsApp.lastHeaders["x-b3-traceid"]));
    }
    expect(traceIds.size).toBe(20); // a new trace per request without context
    await quiet.flushSpans();
    const sampled = [...traceIds].filter((id) => otlp.spans.some((s) => s.traceId === id));
    expect(sampled.length).toBeLessThanOrEqual(3);
    expect(otlp.spans.length - before).toBeLessThanOrEqual(6);
  });
});
