import { describe, expect, it } from "vitest";
import type { StoredResource } from "../../broker/events.ts";
import type { ProxyIdentity } from "../../control/compile/snapshot.ts";
import { checkMetrics, ISTIO_NAME_LINTS } from "../../test/support/promtool.ts";
import {
  type RequestRecord,
  resolveTelemetryPolicy,
  type TcpConnectionRecord,
  workloadMetadataOf,
} from "../telemetry/index.ts";
import { GRPC_MESSAGE_METRICS, recordGrpcMessages } from "./grpc-message-metrics.ts";
import { createMetricSeries } from "./metric-series.ts";
import { REQUEST_METRICS, recordRequestMetrics } from "./request-metrics.ts";
import { createTcpMetrics, TCP_METRICS } from "./tcp-metrics.ts";

/**
 * The one metric-series layer behind HTTP, TCP and gRPC message metrics: Telemetry tag overrides,
 * disabled reporters and idle expiry (here on a test clock) apply to every kind alike.
 */

const db: ProxyIdentity = {
  id: "sidecar~db-v1~default",
  role: "sidecar",
  namespace: "default",
  labels: { app: "db", version: "v1" },
};

function telemetry(spec: object): StoredResource {
  return {
    apiVersion: "telemetry.istio.io/v1",
    kind: "Telemetry",
    metadata: { name: "db", namespace: "default" },
    spec: { selector: { matchLabels: { app: "db" } }, ...spec },
  };
}

const inbound: TcpConnectionRecord = {
  reporter: "destination",
  self: workloadMetadataOf(db),
  peerPrincipal: "spiffe://cluster.local/ns/shop/sa/checkout",
  connectionSecurityPolicy: "mutual_tls",
  destinationService: { host: "db.default.svc.cluster.local", name: "db", namespace: "default" },
  responseFlags: "-",
  destinationPort: 5432,
};

function setup(spec: object) {
  let now = 1_000;
  const series = createMetricSeries([...REQUEST_METRICS, ...GRPC_MESSAGE_METRICS, ...TCP_METRICS], () => now);
  const policy = resolveTelemetryPolicy([telemetry(spec)], db);
  series.configure(policy);
  const tcp = createTcpMetrics(series, () => policy);
  return { series, tcp, advance: (ms: number) => (now += ms) };
}

const linesOf = (text: string, name: string) => text.split("\n").filter((l) => l.startsWith(`${name}{`));

describe("metric series shared by HTTP, TCP and gRPC metrics", () => {
  it("applies tag overrides to one TCP metric, from expressions on the connection", async () => {
    const { series, tcp } = setup({
      metrics: [
        {
          overrides: [
            {
              match: { metric: "TCP_SENT_BYTES", mode: "SERVER" },
              tagOverrides: {
                source_principal: { operation: "REMOVE" },
                db_port: { value: "destination.port" },
              },
            },
          ],
        },
      ],
    });
    const conn = tcp.open(inbound);
    conn.sent(40);
    conn.sent(2);
    conn.received(7);
    conn.close();
    const text = await series.text();
    const [sent] = linesOf(text, "istio_tcp_sent_bytes_total");
    expect(sent).not.toContain("source_principal=");
    expect(sent).toContain('db_port="5432"');
    expect(sent).toMatch(/\} 42$/);
    const [received] = linesOf(text, "istio_tcp_received_bytes_total");
    expect(received).toContain('source_principal="spiffe://cluster.local/ns/shop/sa/checkout"');
    expect(received).not.toContain("db_port=");
    expect(checkMetrics(text, ISTIO_NAME_LINTS).problems).toEqual([]);
  });

  it("labels an inbound TCP peer from its SPIFFE ID only: namespace known, workload unknown", async () => {
    const { series, tcp } = setup({});
    tcp.open(inbound).close();
    const [opened] = linesOf(await series.text(), "istio_tcp_connections_opened_total");
    expect(opened).toContain('source_workload="unknown"');
    expect(opened).toContain('source_workload_namespace="shop"');
    expect(opened).toContain('destination_workload_namespace="default"');
  });

  it("disables a TCP metric for one reporter as it does HTTP metrics", async () => {
    const { series, tcp } = setup({
      metrics: [
        { overrides: [{ match: { metric: "TCP_OPENED_CONNECTIONS", mode: "SERVER" }, disabled: true }] },
      ],
    });
    tcp.open(inbound).close();
    const text = await series.text();
    expect(linesOf(text, "istio_tcp_connections_opened_total")).toEqual([]);
    expect(linesOf(text, "istio_tcp_connections_closed_total")).toHaveLength(1);
  });

  it("expires idle TCP and gRPC series after metricExpiry, keeping busy ones", async () => {
    const { series, tcp, advance } = setup({ metrics: [{ metricExpiry: "10s" }] });
    const idle = tcp.open(inbound);
    idle.sent(1);
    idle.close();
    const busy = tcp.open({ ...inbound, peerPrincipal: "spiffe://cluster.local/ns/ops/sa/backup" });
    const grpcRecord: RequestRecord = {
      reporter: "destination",
      self: workloadMetadataOf(db),
      connectionSecurityPolicy: "none",
      destinationService: inbound.destinationService,
      startMs: 0,
      durationMs: 1,
      method: "POST",
      path: "/db.Query/Run",
      authority: "db:5432",
      scheme: "http",
      requestProtocol: "grpc",
      requestHeaders: {},
      responseCode: 200,
      responseFlags: "-",
      grpcStatus: "0",
      grpcMessages: { request: 2, response: 3 },
      requestBytes: 10,
      responseBytes: 20,
    };
    recordGrpcMessages(series, grpcRecord);
    recordRequestMetrics(series, grpcRecord);
    advance(6_000);
    busy.sent(5);
    advance(6_000);
    const text = await series.text();
    const sent = linesOf(text, "istio_tcp_sent_bytes_total");
    expect(sent).toHaveLength(1);
    expect(sent[0]).toContain('source_workload_namespace="ops"');
    expect(linesOf(text, "istio_tcp_connections_closed_total")).toEqual([]);
    expect(linesOf(text, "istio_request_messages_total")).toEqual([]);
    expect(linesOf(text, "istio_requests_total")).toEqual([]);
    expect(series.seriesCount()).toMatchObject({
      istio_tcp_sent_bytes_total: 1,
      istio_tcp_connections_opened_total: 0,
      istio_response_messages_total: 0,
    });
    busy.close();
    expect(linesOf(await series.text(), "istio_tcp_connections_closed_total")).toHaveLength(1);
  });
});
