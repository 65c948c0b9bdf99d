import { once } from "node:events";
import { request as httpRequest, type IncomingMessage } from "node:http";
import {
  connect as connectHttp2,
  createServer as createHttp2Server,
  type IncomingHttpHeaders as Http2Headers,
} from "node:http2";
import { type AddressInfo, createServer as createTcpServer, type Socket } from "node:net";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { silentLogger } from "../../broker/logger.ts";
import type { RotationClient } from "../../identity/rotation-client.ts";
import { RESPONSE_FLAGS_HEADER } from "../engine/index.ts";
import { TLS_MODE_ISTIO, TLS_MODE_LABEL } from "./mesh-tls.ts";
import { type Sidecar, startSidecar } from "./sidecar.ts";
import { createTestIssuer } from "./test-identity.ts";
import { startTestApp, startTestMesh, type TestMesh, virtualService, waitFor } from "./test-mesh.ts";

/**
 * TCP and gRPC between sidecars under PeerAuthentication STRICT (auto-mTLS): a server-first app
 * greets through two sidecars at once; the inbound side sees the caller's SPIFFE ID (TCP metrics,
 * AuthorizationPolicy on TCP); gRPC denials answer PERMISSION_DENIED; the client's telemetry names
 * the gRPC server by the certificate of its HTTP/2 session; mirrored gRPC copies go over h2 in mTLS.
 */

let mesh: TestMesh;
let issue: (sa: string) => RotationClient;
let client: Sidecar;
let db: Sidecar;
let greeter: Sidecar;
let copies: Sidecar;
/** Requests the mirror's app received (HTTP/2 only). */
const copied: Http2Headers[] = [];
const stops: Array<() => Promise<void> | void> = [];

async function meshSidecar(app: string, appPort: number): Promise<Sidecar> {
  const identity = issue(app);
  stops.push(() => identity.stop());
  const sidecar = await startSidecar({
    nc: mesh.nc,
    verifier: mesh.verifier,
    proxy: { id: `sidecar~${app}~default`, role: "sidecar", namespace: "default", labels: { app } },
    appPort,
    identity,
    log: silentLogger,
  });
  stops.push(() => sidecar.stop());
  return sidecar;
}

function serviceWithPort(name: string, portName: string, port: number): object {
  return {
    apiVersion: "v1",
    kind: "Service",
    metadata: { name, namespace: "default" },
    spec: { selector: { app: name }, ports: [{ name: portName, port }] },
  };
}

/** A WorkloadEntry as a Jibe sidecar registers itself: its inbound listener, a mesh endpoint. */
function meshEndpoint(app: string, portName: string, port: number): object {
  return {
    apiVersion: "networking.istio.io/v1",
    kind: "WorkloadEntry",
    metadata: { name: app, namespace: "default" },
    spec: {
      address: "127.0.0.1",
      labels: { app, [TLS_MODE_LABEL]: TLS_MODE_ISTIO },
      ports: { [portName]: port },
    },
  };
}

function allowOnly(app: string, principal: string): object {
  return {
    apiVersion: "security.istio.io/v1",
    kind: "AuthorizationPolicy",
    metadata: { name: `${app}-allow`, namespace: "default" },
    spec: {
      selector: { matchLabels: { app } },
      action: "ALLOW",
      rules: [{ from: [{ source: { principals: [principal] } }] }],
    },
  };
}

function tunnel(authority: string): Promise<{ status: number; socket: Socket; head: Buffer }> {
  return new Promise((resolve, reject) => {
    const req = httpRequest({
      host: "127.0.0.1",
      port: client.outboundPort,
      method: "CONNECT",
      path: authority,
    });
    req.once("connect", (res: IncomingMessage, socket: Socket, head: Buffer) =>
      resolve({ status: res.statusCode ?? 0, socket, head }),
    );
    req.once("error", reject);
    req.end();
  });
}

/** The first bytes the socket delivers, or "closed" when it closes first. */
function firstData(socket: Socket, head: Buffer): Promise<string> {
  if (head.length > 0) return Promise.resolve(head.toString());
  return new Promise((resolve) => {
    socket.once("data", (chunk: Buffer) => resolve(chunk.toString()));
    socket.once("close", () => resolve("closed"));
  });
}

beforeAll(async () => {
  mesh = await startTestMesh();
  ({ issue } = await createTestIssuer());

  const greeting = createTcpServer((socket) => {
    socket.write("220 ready\n");
    socket.on("data", (chunk) => socket.write(`got ${chunk.toString()}`));
    socket.on("error", () => {});
  });
  greeting.listen(0, "127.0.0.1");
  await once(greeting, "listening");
  stops.push(() => new Promise<void>((resolve) => greeting.close(() => resolve())));
  const grpcApp = createHttp2Server();
  grpcApp.on("stream", (stream) => {
    stream.respond(
      { ":status": 200, "content-type": "application/grpc", "grpc-status": "0" },
      { endStream: true },
    );
  });
  grpcApp.listen(0, "127.0.0.1");
  await once(grpcApp, "listening");
  stops.push(() => new Promise<void>((resolve) => grpcApp.close(() => resolve())));
  const copyApp = createHttp2Server();
  copyApp.on("stream", (stream, headers) => {
    copied.push(headers);
    stream.respond(
      { ":status": 200, "content-type": "application/grpc", "grpc-status": "0" },
      { endStream: true },
    );
  });
  copyApp.listen(0, "127.0.0.1");
  await once(copyApp, "listening");
  stops.push(() => new Promise<void>((resolve) => copyApp.close(() => resolve())));
  const app = await startTestApp("client");
  stops.push(() => app.stop());

  client = await meshSidecar("client", app.port);
  db = await meshSidecar("db", (greeting.address() as AddressInfo).port);
  greeter = await meshSidecar("greeter", (grpcApp.address() as AddressInfo).port);
  copies = await meshSidecar("copies", (copyApp.address() as AddressInfo).port);
  await mesh.applyAndWait(
    [client, db, greeter, copies],
    serviceWithPort("copies", "grpc", 50051),
    meshEndpoint("copies", "grpc", copies.inboundPort),
    serviceWithPort("db", "tcp-db", 5000),
    meshEndpoint("db", "tcp-db", db.inboundPort),
    serviceWithPort("greeter", "grpc", 50051),
    meshEndpoint("greeter", "grpc", greeter.inboundPort),
    {
      apiVersion: "security.istio.io/v1",
      kind: "PeerAuthentication",
      metadata: { name: "default", namespace: "istio-system" },
      spec: { mtls: { mode: "STRICT" } },
    },
  );
}, 30_000);

afterAll(async () => {
  for (const stop of stops.reverse()) await stop();
  await mesh?.stop();
});

describe("TCP between sidecars under STRICT mTLS", () => {
  it("delivers the server's greeting through mTLS without a client byte, then carries data both ways", async () => {
    const { status, socket, head } = await tunnel("db:5000");
    expect(status).toBe(200);
    expect(await firstData(socket, head)).toBe("220 ready\n");
    socket.write("QUIT");
    expect(await firstData(socket, Buffer.alloc(0))).toBe("got QUIT");
    socket.destroy();
    expect(db.stats().mtls.mtls).toBeGreaterThan(0);
  });

  it("labels the destination's TCP metrics from the caller's mTLS identity, as Istio does", async () => {
    const { socket, head } = await tunnel("db:5000");
    await firstData(socket, head);
    socket.destroy();
    await new Promise((resolve) => setTimeout(resolve, 100));
    const opened = (await db.metrics())
      .split("\n")
      .find((line) => line.startsWith('istio_tcp_connections_opened_total{reporter="destination"'));
    // No peer metadata on TCP: the workload is unknown; principal and namespace come from the SPIFFE ID.
    expect(opened).toContain('source_principal="spiffe://cluster.local/ns/default/sa/client"');
    expect(opened).toContain('source_workload="unknown"');
    expect(opened).toContain('source_workload_namespace="default"');
    expect(opened).toContain('connection_security_policy="mutual_tls"');
  });

  it("applies AuthorizationPolicy to TCP: a principal not allowed gets its connection closed", async () => {
    await mesh.applyAndWait(
      [client, db, greeter],
      allowOnly("db", "cluster.local/ns/default/sa/someone-else"),
    );
    const { socket, head } = await tunnel("db:5000");
    expect(await firstData(socket, head)).toBe("closed");
    await mesh.applyAndWait([client, db, greeter], allowOnly("db", "cluster.local/ns/default/sa/client"));
    const allowed = await tunnel("db:5000");
    expect(await firstData(allowed.socket, allowed.head)).toBe("220 ready\n");
    allowed.socket.destroy();
  });
});

describe("gRPC between sidecars under STRICT mTLS", () => {
  async function grpcStatus(): Promise<Record<string, unknown>> {
    const session = connectHttp2(`http://127.0.0.1:${client.outboundPort}`);
    const stream = session.request({
      ":method": "POST",
      ":path": "/hello.Greeter/SayHello",
      ":authority": "greeter:50051",
      "content-type": "application/grpc",
    });
    stream.end();
    const [headers] = (await once(stream, "response")) as [Record<string, unknown>];
    stream.resume();
    session.close();
    return headers;
  }

  it("reaches an h2c app through mTLS, and answers an authorization denial PERMISSION_DENIED", async () => {
    expect((await grpcStatus())["grpc-status"]).toBe("0");
    await mesh.applyAndWait(
      [client, db, greeter],
      allowOnly("greeter", "cluster.local/ns/default/sa/nobody"),
    );
    const denied = await grpcStatus();
    expect(denied[":status"]).toBe(200);
    expect(denied["grpc-status"]).toBe("7");
    expect(denied["grpc-message"]).toBe("RBAC: access denied");
    expect(denied[RESPONSE_FLAGS_HEADER]).toBe("RBAC");
    // The caller's SPIFFE ID reaches authorization over HTTP/2 too.
    await mesh.applyAndWait(
      [client, db, greeter],
      allowOnly("greeter", "cluster.local/ns/default/sa/client"),
    );
    expect((await grpcStatus())["grpc-status"]).toBe("0");
  });

  it("names the gRPC server by its SPIFFE ID on the client's side (the certificate of the HTTP/2 session)", async () => {
    expect((await grpcStatus())["grpc-status"]).toBe("0");
    const sent = await sourceRequestLine("greeter");
    expect(sent).toContain('request_protocol="grpc"');
    expect(sent).toContain('source_principal="spiffe://cluster.local/ns/default/sa/client"');
    expect(sent).toContain('destination_principal="spiffe://cluster.local/ns/default/sa/greeter"');
    // What `jibe mtls check` reads: the h2 connection to the greeter's sidecar was mutual TLS.
    const seen = client.report().outbound.find((o) => o.service.startsWith("greeter."));
    expect(seen?.mtls).toBeGreaterThan(0);
    expect(seen?.peers).toContain("spiffe://cluster.local/ns/default/sa/greeter");
  });

  it("mirrors a gRPC call over h2 inside mTLS to a STRICT sidecar, with the -shadow authority", async () => {
    await mesh.applyAndWait(
      [client, db, greeter],
      virtualService("greeter", [
        {
          route: [{ destination: { host: "greeter" } }],
          mirror: { host: "copies" },
          mirrorPercentage: { value: 100 },
        },
      ]),
    );
    copied.length = 0;
    expect((await grpcStatus())["grpc-status"]).toBe("0");
    await waitFor(() => copied.length === 1, 5_000, "the mirrored copy");
    expect(copied[0]?.[":authority"]).toBe("greeter-shadow:50051");
    expect(copied[0]?.[":path"]).toBe("/hello.Greeter/SayHello");
    // STRICT refuses plaintext: the copy arrived, so it came over mTLS, from the client's identity.
    expect(copies.stats().mtls.mtls).toBeGreaterThan(0);
    expect(Object.keys(copies.report().inbound.principals)).toContain(
      "spiffe://cluster.local/ns/default/sa/client",
    );
  });
});

/** The client's `istio_requests_total{reporter="source"}` line for `service`, once recorded. */
async function sourceRequestLine(service: string): Promise<string> {
  const started = Date.now();
  for (;;) {
    const line = (await client.metrics())
      .split("\n")
      .find(
        (l) =>
          l.startsWith("istio_requests_total{") &&
          l.includes('reporter="source"') &&
          l.includes(`destination_service_name="${service}"`),
      );
    if (line) return line;
    if (Date.now() - started > 5_000) throw new Error(`no source-side request metric for ${service}`);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}
