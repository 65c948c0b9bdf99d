import { once } from "node:events";
import {
  connect as connectHttp2,
  createServer as createHttp2Server,
  type IncomingHttpHeaders,
  type ServerHttp2Stream,
} from "node:http2";
import type { AddressInfo } from "node:net";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { silentLogger } from "../../broker/logger.ts";
import { type Sidecar, startSidecar } from "./sidecar.ts";
import {
  call,
  startTestApp,
  startTestMesh,
  type TestApp,
  type TestMesh,
  virtualService,
  waitFor,
  workloadEntry,
} from "./test-mesh.ts";

/**
 * Mirrors of HTTP/2 traffic through a real sidecar: a copy goes out with the protocol of the
 * mirror cluster's upstream (HTTP/2 prior knowledge for `grpc`/`http2` ports, and for gRPC
 * requests), with Istio's `-shadow` authority, and never touches the real answer.
 */

let mesh: TestMesh;
let client: Sidecar;
let web: TestApp;
let greeter: H2App;
let copies: H2App;
const stops: Array<() => Promise<void> | void> = [];

/** What an h2c-only server (node:http2, no HTTP/1.1 fallback) received on one stream. */
interface H2Request {
  headers: IncomingHttpHeaders;
  body: string;
  httpVersion: string;
}

interface H2App {
  port: number;
  received: H2Request[];
  /** Streams left unanswered (`hold` mode), to show a stuck copy does not hold the real answer. */
  held: ServerHttp2Stream[];
  hold: boolean;
}

/** A gRPC-style h2c server: echoes the body, `grpc-status` in trailers; in `hold` mode never answers. */
async function startH2App(): Promise<H2App> {
  const app: H2App = { port: 0, received: [], held: [], hold: false };
  const server = createHttp2Server();
  server.on("stream", (stream, headers) => {
    const chunks: Buffer[] = [];
    stream.on("data", (chunk: Buffer) => chunks.push(chunk));
    stream.on("error", () => {});
    stream.once("end", () => {
      const body = Buffer.concat(chunks);
      app.received.push({ headers, body: body.toString(), httpVersion: stream.session?.alpnProtocol ?? "" });
      if (app.hold) {
        app.held.push(stream);
        return;
      }
      stream.respond({ ":status": 200, "content-type": "application/grpc" }, { waitForTrailers: true });
      stream.once("wantTrailers", () => stream.sendTrailers({ "grpc-status": "0" }));
      stream.end(body);
    });
  });
  server.listen(0, "127.0.0.1");
  await once(server, "listening");
  app.port = (server.address() as AddressInfo).port;
  stops.push(
    () =>
      new Promise<void>((resolve) => {
        for (const stream of app.held) stream.close();
        server.close(() => resolve());
      }),
  );
  return app;
}

function serviceWithPort(name: string, portName: string, port: number): object {
  return {
    apiVersion: "v1",
    kind: "Service",
    metadata: { name, namespace: "default" },
    spec: { selector: { app: name }, ports: [{ name: portName, port }] },
  };
}

function endpoint(name: string, portName: string, port: number): object {
  const entry = workloadEntry(name, { app: name }, port) as { spec: { ports: Record<string, number> } };
  entry.spec.ports = { [portName]: port };
  return entry;
}

/** One unary gRPC call through the client sidecar (h2c); resolves to the answer's status, body and grpc-status. */
async function grpcCall(
  authority: string,
  body: string,
): Promise<{ status: unknown; body: string; grpcStatus: unknown }> {
  const session = connectHttp2(`http://127.0.0.1:${client.outboundPort}`);
  try {
    const stream = session.request({
      ":method": "POST",
      ":path": "/hello.Greeter/SayHello",
      ":authority": authority,
      "content-type": "application/grpc",
      te: "trailers",
    });
    stream.end(body);
    const [headers] = (await once(stream, "response")) as [IncomingHttpHeaders];
    const chunks: Buffer[] = [];
    stream.on("data", (chunk: Buffer) => chunks.push(chunk));
    const [trailers] = (await once(stream, "trailers")) as [IncomingHttpHeaders];
    return {
      status: headers[":status"],
      body: Buffer.concat(chunks).toString(),
      grpcStatus: trailers["grpc-status"],
    };
  } finally {
    session.close();
  }
}

beforeAll(async () => {
  mesh = await startTestMesh();
  const self = await startTestApp("client");
  stops.push(() => self.stop());
  web = await startTestApp("web");
  stops.push(() => web.stop());
  greeter = await startH2App();
  copies = await startH2App();
  client = await startSidecar({
    nc: mesh.nc,
    verifier: mesh.verifier,
    proxy: { id: "sidecar~client~default", role: "sidecar", namespace: "default", labels: { app: "client" } },
    appPort: self.port,
    log: silentLogger,
  });
  stops.push(() => client.stop());
  await mesh.applyAndWait(
    [client],
    serviceWithPort("greeter", "grpc", 50051),
    endpoint("greeter", "grpc", greeter.port),
    serviceWithPort("copies", "grpc-copies", 50051),
    endpoint("copies", "grpc-copies", copies.port),
    serviceWithPort("h2copies", "http2", 8080),
    endpoint("h2copies", "http2", copies.port),
    serviceWithPort("web", "http", 8080),
    endpoint("web", "http", web.port),
    virtualService("greeter", [
      {
        route: [{ destination: { host: "greeter" } }],
        mirror: { host: "copies" },
        mirrorPercentage: { value: 100 },
      },
    ]),
    virtualService("web", [
      {
        route: [{ destination: { host: "web" } }],
        mirror: { host: "h2copies" },
        mirrorPercentage: { value: 100 },
      },
    ]),
  );
}, 30_000);

afterAll(async () => {
  for (const stop of stops.reverse()) await stop();
  await mesh?.stop();
});

describe("mirrors over HTTP/2", () => {
  it("mirrors a gRPC call to a grpc port over HTTP/2 with the -shadow authority and the same body", async () => {
    copies.received = [];
    const answer = await grpcCall("greeter:50051", "hello");
    expect(answer).toEqual({ status: 200, body: "hello", grpcStatus: "0" });
    await waitFor(() => copies.received.length === 1, 5_000, "the mirrored copy");
    const [copy] = copies.received;
    // The copies server speaks only HTTP/2: receiving the stream at all means the copy was HTTP/2.
    expect(copy?.httpVersion).toBe("h2c");
    expect(copy?.headers[":authority"]).toBe("greeter-shadow:50051");
    expect(copy?.headers[":path"]).toBe("/hello.Greeter/SayHello");
    expect(copy?.headers[":method"]).toBe("POST");
    expect(copy?.headers["content-type"]).toBe("application/grpc");
    expect(copy?.headers.te).toBe("trailers");
    expect(copy?.body).toBe("hello");
    expect(greeter.received.at(-1)?.headers[":authority"]).toBe("greeter:50051");
  });

  it("mirrors an HTTP/1.1 request to an http2 port over HTTP/2 (the mirror cluster's protocol)", async () => {
    copies.received = [];
    const answer = await call(client.outboundPort, "web:8080", "/echo", {
      method: "POST",
      body: Buffer.from("plain body"),
    });
    expect([answer.status, answer.body]).toEqual([200, "plain body"]);
    await waitFor(() => copies.received.length === 1, 5_000, "the mirrored copy");
    const [copy] = copies.received;
    expect(copy?.httpVersion).toBe("h2c");
    expect(copy?.headers[":authority"]).toBe("web-shadow:8080");
    expect(copy?.headers[":path"]).toBe("/echo");
    expect(copy?.headers["content-length"]).toBe("10");
    expect(copy?.body).toBe("plain body");
    // The real request stayed HTTP/1.1 to the http port.
    expect(web.lastHeaders.host).toBe("web:8080");
  });

  it("answers the real call while the mirror holds its copy unanswered", async () => {
    copies.received = [];
    copies.hold = true;
    try {
      const answer = await grpcCall("greeter:50051", "while the copy hangs");
      expect(answer).toEqual({ status: 200, body: "while the copy hangs", grpcStatus: "0" });
      await waitFor(() => copies.held.length > 0, 5_000, "the held copy");
      // The copy is still open at the mirror: the real answer did not wait for it.
      expect(copies.held.every((stream) => !stream.closed)).toBe(true);
    } finally {
      copies.hold = false;
    }
  });
});
