import { once } from "node:events";
import { request as httpRequest, type IncomingMessage } from "node:http";
import { type AddressInfo, createServer as createTcpServer, type Socket } from "node:net";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { silentLogger } from "../../broker/logger.ts";
import { checkMetrics, ISTIO_NAME_LINTS } from "../../test/support/promtool.ts";
import { type Sidecar, startSidecar } from "./sidecar.ts";
import { freePort, startTestMesh, type TestMesh, workloadEntry } from "./test-mesh.ts";

/**
 * Telemetry resources shape the TCP metrics as they do the HTTP ones (one metric-series layer):
 * real nats-server, real sidecars, a server-first TCP app behind the `ledger` sidecar, reached by
 * CONNECT through the client sidecar.
 */

let mesh: TestMesh;
let client: Sidecar;
let ledger: Sidecar;
const stops: Array<() => Promise<void> | void> = [];

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
    log: silentLogger,
  });
  stops.push(() => started.stop());
  return started;
}

/** One TCP exchange through both sidecars: the greeting, one line each way, then close. */
async function exchange(): Promise<void> {
  const { socket, head } = await new Promise<{ socket: Socket; head: Buffer }>((resolve, reject) => {
    const req = httpRequest({
      host: "127.0.0.1",
      port: client.outboundPort,
      method: "CONNECT",
      path: "ledger:7000",
    });
    req.once("connect", (_res: IncomingMessage, s: Socket, h: Buffer) => resolve({ socket: s, head: h }));
    req.once("error", reject);
    req.end();
  });
  if (head.length === 0) await once(socket, "data");
  socket.write("ping\n");
  await once(socket, "data");
  socket.destroy();
  await new Promise((resolve) => setTimeout(resolve, 100));
}

function lines(text: string, name: string): string[] {
  return text.split("\n").filter((line) => line.startsWith(`${name}{`));
}

beforeAll(async () => {
  mesh = await startTestMesh();
  const app = createTcpServer((socket) => {
    socket.write("ledger ready\n");
    socket.on("data", (chunk) => socket.write(`ok ${chunk.toString()}`));
    socket.on("error", () => {});
  });
  app.listen(0, "127.0.0.1");
  await once(app, "listening");
  stops.push(() => new Promise<void>((resolve) => app.close(() => resolve())));
  client = await sidecar("teller", await freePort());
  ledger = await sidecar("ledger", (app.address() as AddressInfo).port);
  const entry = workloadEntry("ledger-v1", { app: "ledger", version: "v1" }, ledger.inboundPort) as {
    spec: { ports: Record<string, number> };
  };
  entry.spec.ports = { tcp: ledger.inboundPort };
  await mesh.applyAndWait(
    [client, ledger],
    {
      apiVersion: "v1",
      kind: "Service",
      metadata: { name: "ledger", namespace: "default" },
      spec: { selector: { app: "ledger" }, ports: [{ name: "tcp", port: 7000 }] },
    },
    entry,
    {
      apiVersion: "telemetry.istio.io/v1",
      kind: "Telemetry",
      metadata: { name: "ledger", namespace: "default" },
      spec: {
        selector: { matchLabels: { app: "ledger" } },
        metrics: [
          {
            metricExpiry: "1s",
            overrides: [
              {
                match: { metric: "TCP_SENT_BYTES", mode: "SERVER" },
                tagOverrides: {
                  destination_version: { operation: "REMOVE" },
                  request_protocol: { value: "'ledger-wire'" },
                },
              },
            ],
          },
        ],
      },
    },
  );
}, 30_000);

afterAll(async () => {
  for (const stop of stops.reverse()) await stop();
  await mesh?.stop();
});

describe("Telemetry on TCP metrics", () => {
  it("applies tagOverrides to istio_tcp_sent_bytes_total only, promtool-clean", async () => {
    await exchange();
    const text = await ledger.metrics();
    const [sent, ...more] = lines(text, "istio_tcp_sent_bytes_total");
    expect(more).toEqual([]);
    expect(sent).toContain('reporter="destination"');
    expect(sent).toContain('request_protocol="ledger-wire"');
    expect(sent).not.toContain("destination_version=");
    expect(sent).toMatch(/\} [1-9]\d*$/);
    // Other TCP metrics keep Istio's labels.
    const [opened] = lines(text, "istio_tcp_connections_opened_total");
    expect(opened).toContain('destination_version="v1"');
    expect(opened).toContain('request_protocol="tcp"');
    expect(checkMetrics(text, ISTIO_NAME_LINTS).problems).toEqual([]);
    // The client's sidecar has no Telemetry: its sent-bytes series is Istio's.
    const [source] = lines(await client.metrics(), "istio_tcp_sent_bytes_total");
    expect(source).toContain('request_protocol="tcp"');
  });

  it("drops idle TCP series after the Telemetry's metricExpiry and starts them afresh", async () => {
    await exchange();
    expect(lines(await ledger.metrics(), "istio_tcp_connections_closed_total")).toHaveLength(1);
    await new Promise((resolve) => setTimeout(resolve, 1300));
    const text = await ledger.metrics();
    for (const name of [
      "istio_tcp_connections_opened_total",
      "istio_tcp_connections_closed_total",
      "istio_tcp_sent_bytes_total",
      "istio_tcp_received_bytes_total",
    ])
      expect(lines(text, name)).toEqual([]);
    expect(ledger.stats().metricSeries.istio_tcp_sent_bytes_total).toBe(0);
    // The client's sidecar keeps its series (no expiry configured there: Istio's default).
    expect(lines(await client.metrics(), "istio_tcp_connections_opened_total")).toHaveLength(1);
    await exchange();
    const [opened] = lines(await ledger.metrics(), "istio_tcp_connections_opened_total");
    expect(opened).toMatch(/\} 1$/);
  });
});
