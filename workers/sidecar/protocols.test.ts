import { once } from "node:events";
import { request as httpRequest, type IncomingMessage } from "node:http";
import { connect as connectHttp2, createServer as createHttp2Server, type Http2Server } from "node:http2";
import {
  type AddressInfo,
  createServer as createTcpServer,
  type Server,
  connect as tcpConnect,
} from "node:net";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { silentLogger } from "../../broker/logger.ts";
import { checkMetrics, ISTIO_NAME_LINTS } from "../../test/support/promtool.ts";
import { RESPONSE_FLAGS_HEADER, ROUTE_HEADER } from "../engine/index.ts";
import { type Sidecar, startSidecar } from "./sidecar.ts";
import {
  freePort,
  service,
  startTestApp,
  startTestMesh,
  type TestMesh,
  virtualService,
  workloadEntry,
} from "./test-mesh.ts";

/**
 * Protocols through real sidecars on loopback: h2c and gRPC (node:http2 client and server),
 * WebSocket upgrades (raw HTTP/1.1 Upgrade), raw TCP to a server-first app (it greets before the
 * client writes), with Istio's protocol selection from the Service port names.
 */

let mesh: TestMesh;
let client: Sidecar;
let web: Sidecar;
let grpc: Sidecar;
let db: { v1: Sidecar; v2: Sidecar };
/** Apps reached without any Service naming their loopback address (ALLOW_ANY passthrough). */
let direct: { upgrade: number; greeting: number };
const stops: Array<() => Promise<void> | void> = [];

async function sidecar(
  app: string,
  version: string,
  appPort: number,
  extra: Partial<Parameters<typeof startSidecar>[0]> = {},
): Promise<Sidecar> {
  const started = await startSidecar({
    ...extra,
    nc: mesh.nc,
    verifier: mesh.verifier,
    proxy: {
      id: `sidecar~${app}-${version}~default`,
      role: "sidecar",
      namespace: "default",
      labels: { app, version },
    },
    appPort,
    log: silentLogger,
  });
  stops.push(() => started.stop());
  return started;
}

/** A Service with one port of the given name (Istio reads the protocol from it). */
function servicePort(name: string, portName: string, port: number): object {
  return {
    apiVersion: "v1",
    kind: "Service",
    metadata: { name, namespace: "default" },
    spec: { selector: { app: name }, ports: [{ name: portName, port }] },
  };
}

function endpoint(name: string, version: string, portName: string, port: number): object {
  const entry = workloadEntry(`${name}-${version}`, { app: name, version }, port) as {
    spec: { ports: Record<string, number> };
  };
  entry.spec.ports = { [portName]: port };
  return entry;
}

/** An h2c-only gRPC-style server: echoes the request body, ends with `grpc-status` in trailers. */
async function startGrpcApp(): Promise<{ server: Http2Server; port: number }> {
  const server = createHttp2Server();
  server.on("stream", (stream, headers) => {
    if (headers[":path"] === "/chat.Service/Stream") {
      // Bidirectional: every message is answered at once; the call ends when the client ends.
      stream.respond({ ":status": 200, "content-type": "application/grpc" }, { waitForTrailers: true });
      stream.on("data", (chunk: Buffer) => stream.write(chunk));
      stream.once("wantTrailers", () => stream.sendTrailers({ "grpc-status": "0" }));
      stream.on("end", () => stream.end());
      return;
    }
    const chunks: Buffer[] = [];
    stream.on("data", (chunk: Buffer) => chunks.push(chunk));
    stream.on("end", () => {
      const delay = headers[":path"] === "/slow.Service/Call" ? 2_000 : 0;
      setTimeout(() => {
        if (stream.destroyed) return;
        stream.respond({ ":status": 200, "content-type": "application/grpc" }, { waitForTrailers: true });
        stream.once("wantTrailers", () => stream.sendTrailers({ "grpc-status": "0", "grpc-message": "ok" }));
        stream.end(Buffer.concat(chunks));
      }, delay);
    });
  });
  server.listen(0, "127.0.0.1");
  await once(server, "listening");
  return { server, port: (server.address() as AddressInfo).port };
}

/** A MySQL-style server-first app: greets on connect, then echoes upper-cased. */
async function startGreetingApp(greeting: string): Promise<Server> {
  const server = createTcpServer((socket) => {
    socket.write(greeting);
    socket.on("data", (chunk) => socket.write(chunk.toString().toUpperCase()));
    socket.on("error", () => {});
  });
  server.listen(0, "127.0.0.1");
  await once(server, "listening");
  return server;
}

/** A WebSocket-style upgrade server: answers 101 and echoes raw bytes back with a prefix. */
async function startUpgradeApp(): Promise<Server> {
  const app = await startTestApp("web");
  stops.push(() => app.stop());
  const server = createTcpServer();
  server.on("connection", (socket) => {
    socket.once("data", (head: Buffer) => {
      const text = head.toString();
      const path = text.split(" ")[1];
      socket.write(
        `HTTP/1.1 101 Switching Protocols\r\nupgrade: websocket\r\nconnection: Upgrade\r\nx-path: ${path}\r\n\r\n`,
      );
      socket.on("data", (chunk) => socket.write(`echo:${chunk.toString()}`));
    });
    socket.on("error", () => {});
  });
  server.listen(0, "127.0.0.1");
  await once(server, "listening");
  return server;
}

/** CONNECT through the outbound listener; resolves with the status line's code and the socket. */
function tunnel(
  authority: string,
): Promise<{ status: number; socket: import("node:net").Socket; head: Buffer }> {
  return new Promise((resolve, reject) => {
    const req = httpRequest({
      host: "127.0.0.1",
      port: client.outboundPort,
      method: "CONNECT",
      path: authority,
    });
    req.once("connect", (res: IncomingMessage, socket, head: Buffer) =>
      resolve({ status: res.statusCode ?? 0, socket, head }),
    );
    req.once("error", reject);
    req.end();
  });
}

function read(socket: import("node:net").Socket, head: Buffer = Buffer.alloc(0)): Promise<string> {
  if (head.length > 0) return Promise.resolve(head.toString());
  return new Promise((resolve) => socket.once("data", (chunk: Buffer) => resolve(chunk.toString())));
}

function grpcCall(
  path: string,
  body: string,
  authority = "greeter:50051",
): Promise<{ headers: Record<string, unknown>; trailers: Record<string, unknown>; body: string }> {
  return new Promise((resolve, reject) => {
    const session = connectHttp2(`http://127.0.0.1:${client.outboundPort}`);
    session.on("error", reject);
    const stream = session.request({
      ":method": "POST",
      ":path": path,
      ":authority": authority,
      "content-type": "application/grpc",
      te: "trailers",
    });
    let headers: Record<string, unknown> = {};
    let trailers: Record<string, unknown> = {};
    const chunks: Buffer[] = [];
    stream.on("response", (h) => {
      headers = h;
    });
    stream.on("trailers", (t) => {
      trailers = t;
    });
    stream.on("data", (chunk: Buffer) => chunks.push(chunk));
    stream.on("end", () => {
      session.close();
      resolve({ headers, trailers, body: Buffer.concat(chunks).toString() });
    });
    stream.on("error", reject);
    stream.end(grpcFrame(body));
  });
}

/** gRPC messages counted by the client's sidecar for calls to greeter, each way. */
async function greeterMessages(): Promise<{ request: number; response: number }> {
  const text = await client.metrics();
  const sum = (name: string) =>
    text
      .split("\n")
      .filter((line) => line.startsWith(`${name}{`) && line.includes('destination_service="greeter.'))
      .reduce((total, line) => total + Number(line.slice(line.lastIndexOf(" ") + 1)), 0);
  return { request: sum("istio_request_messages_total"), response: sum("istio_response_messages_total") };
}

/** One gRPC message: uncompressed flag, 4-byte big-endian length, payload. */
function grpcFrame(payload: string): Buffer {
  const bytes = Buffer.from(payload);
  const prefix = Buffer.alloc(5);
  prefix.writeUInt32BE(bytes.length, 1);
  return Buffer.concat([prefix, bytes]);
}

beforeAll(async () => {
  mesh = await startTestMesh();
  const grpcApp = await startGrpcApp();
  stops.push(() => new Promise<void>((resolve) => grpcApp.server.close(() => resolve())));
  const upgradeApp = await startUpgradeApp();
  stops.push(() => new Promise<void>((resolve) => upgradeApp.close(() => resolve())));
  const v1 = await startGreetingApp("HELLO v1\n");
  const v2 = await startGreetingApp("HELLO v2\n");
  direct = {
    upgrade: (upgradeApp.address() as AddressInfo).port,
    greeting: (v1.address() as AddressInfo).port,
  };
  for (const server of [v1, v2])
    stops.push(() => new Promise<void>((resolve) => server.close(() => resolve())));

  const plain = await startTestApp("plain");
  stops.push(() => plain.stop());
  client = await sidecar("client", "v1", plain.port, { tcpUpstreams: [{ authority: "mysql:3306" }] });
  web = await sidecar("web", "v1", (upgradeApp.address() as AddressInfo).port);
  grpc = await sidecar("greeter", "v1", grpcApp.port);
  db = {
    v1: await sidecar("mysql", "v1", (v1.address() as AddressInfo).port),
    v2: await sidecar("mysql", "v2", (v2.address() as AddressInfo).port),
  };
  await mesh.applyAndWait(
    [client, web, grpc, db.v1, db.v2],
    service("plain"),
    endpoint("plain", "v1", "http", plain.port),
    service("web"),
    endpoint("web", "v1", "http", web.inboundPort),
    servicePort("greeter", "grpc", 50051),
    endpoint("greeter", "v1", "grpc", grpc.inboundPort),
    servicePort("nobody", "grpc", 50052),
    servicePort("gone", "grpc", 50053),
    endpoint("gone", "v1", "grpc", await freePort()),
    servicePort("mysql", "mysql", 3306),
    {
      apiVersion: "v1",
      kind: "Service",
      metadata: { name: "mysql-pods", namespace: "default" },
      spec: { selector: { app: "mysql" }, clusterIP: "None", ports: [{ name: "mysql", port: 3306 }] },
    },
    endpoint("mysql", "v1", "mysql", db.v1.inboundPort),
    endpoint("mysql", "v2", "mysql", db.v2.inboundPort),
    {
      apiVersion: "networking.istio.io/v1",
      kind: "DestinationRule",
      metadata: { name: "mysql", namespace: "default" },
      spec: { host: "mysql", subsets: ["v1", "v2"].map((v) => ({ name: v, labels: { version: v } })) },
    },
    virtualService("greeter", [
      {
        match: [{ uri: { prefix: "/slow." } }],
        timeout: "0.3s",
        route: [{ destination: { host: "greeter" } }],
      },
      { route: [{ destination: { host: "greeter" } }] },
    ]),
  );
}, 30_000);

afterAll(async () => {
  for (const stop of stops.reverse()) await stop();
  await mesh?.stop();
});

describe("HTTP/2 and gRPC", () => {
  it("carries a gRPC call (h2c) through two sidecars to an h2c-only app, trailers included", async () => {
    const answer = await grpcCall("/hello.Greeter/SayHello", "ping");
    expect(answer.headers[":status"]).toBe(200);
    expect(answer.body).toBe(grpcFrame("ping").toString());
    expect(answer.trailers["grpc-status"]).toBe("0");
    expect(answer.trailers["grpc-message"]).toBe("ok");
    expect(answer.headers[ROUTE_HEADER]).toBe("VirtualService/default/greeter#1");
  });

  it("carries a bidirectional stream: answers flow before the client ends its side", async () => {
    const before = await greeterMessages();
    const session = connectHttp2(`http://127.0.0.1:${client.outboundPort}`);
    const stream = session.request({
      ":method": "POST",
      ":path": "/chat.Service/Stream",
      ":authority": "greeter:50051",
      "content-type": "application/grpc",
    });
    const trailers = new Promise<Record<string, unknown>>((resolve) => stream.once("trailers", resolve));
    stream.write(grpcFrame("one"));
    const [first] = (await once(stream, "data")) as [Buffer];
    expect(first.subarray(5).toString()).toBe("one");
    stream.write(grpcFrame("two"));
    const [second] = (await once(stream, "data")) as [Buffer];
    expect(second.subarray(5).toString()).toBe("two");
    stream.end();
    stream.resume();
    expect((await trailers)["grpc-status"]).toBe("0");
    session.close();
    await new Promise((resolve) => setTimeout(resolve, 50));
    const after = await greeterMessages();
    // Two messages each way, whether the proxy buffered the first one or streamed it.
    expect([after.request - before.request, after.response - before.response]).toEqual([2, 2]);
  });

  it("answers proxy failures to gRPC clients trailers-only with grpc-status", async () => {
    const timeout = await grpcCall("/slow.Service/Call", "x");
    expect(timeout.headers[":status"]).toBe(200);
    expect(timeout.headers["grpc-status"]).toBe("4"); // DEADLINE_EXCEEDED
    expect(timeout.headers[RESPONSE_FLAGS_HEADER]).toBe("UT");

    const noEndpoint = await new Promise<Record<string, unknown>>((resolve, reject) => {
      const session = connectHttp2(`http://127.0.0.1:${client.outboundPort}`);
      const stream = session.request({
        ":method": "POST",
        ":path": "/x.Y/Z",
        ":authority": "nobody:50052",
        "content-type": "application/grpc",
      });
      stream.on("response", (headers) => {
        resolve(headers);
        session.close();
      });
      stream.on("error", reject);
      stream.end();
    });
    expect(noEndpoint["grpc-status"]).toBe("14"); // UNAVAILABLE
    expect(noEndpoint[RESPONSE_FLAGS_HEADER]).toBe("UH");

    const refused = await grpcCall("/x.Y/Z", "x", "gone:50053");
    expect(refused.headers["grpc-status"]).toBe("14");
    expect(refused.headers[RESPONSE_FLAGS_HEADER]).toBe("UF,URX");
  });

  it("serves h2c clients of HTTP/1.1 services (prior knowledge on the outbound listener)", async () => {
    const session = connectHttp2(`http://127.0.0.1:${client.outboundPort}`);
    const stream = session.request({ ":path": "/hi", ":authority": "plain:9080" });
    const chunks: Buffer[] = [];
    stream.on("data", (chunk: Buffer) => chunks.push(chunk));
    const [headers] = (await once(stream, "response")) as [Record<string, unknown>];
    await once(stream, "end");
    session.close();
    expect(headers[":status"]).toBe(200);
    expect(JSON.parse(Buffer.concat(chunks).toString())).toEqual({
      app: "plain",
      path: "/hi",
      method: "GET",
    });
  });

  it("labels gRPC requests request_protocol=grpc with their grpc_response_status", async () => {
    await grpcCall("/hello.Greeter/SayHello", "ping");
    const text = await client.metrics();
    expect(text).toMatch(/istio_requests_total\{[^}]*request_protocol="grpc"[^}]*grpc_response_status="0"/);
    expect(text).toMatch(/istio_requests_total\{[^}]*request_protocol="grpc"[^}]*grpc_response_status="4"/);
    expect(text).toMatch(/istio_request_messages_total\{[^}]*grpc_response_status="0"[^}]*\} [1-9]/);
    expect(text).toMatch(/istio_response_messages_total\{[^}]*grpc_response_status="0"[^}]*\} [1-9]/);
    expect(checkMetrics(text, ISTIO_NAME_LINTS).problems).toEqual([]);
  });
});

describe("WebSocket upgrade", () => {
  it("routes the Upgrade request, answers 101 and pipes bytes both ways through two sidecars", async () => {
    const socket = tcpConnect(client.outboundPort, "127.0.0.1");
    await once(socket, "connect");
    socket.write(
      "GET /chat HTTP/1.1\r\nhost: web:9080\r\nconnection: Upgrade\r\nupgrade: websocket\r\nsec-websocket-version: 13\r\nsec-websocket-key: dGhlIHNhbXBsZSBub25jZQ==\r\n\r\n",
    );
    const head = await read(socket);
    expect(head).toMatch(/^HTTP\/1\.1 101 /);
    expect(head.toLowerCase()).toContain("upgrade: websocket");
    expect(head.toLowerCase()).toContain("x-path: /chat");
    expect(head).toContain(`${ROUTE_HEADER}: Service/default/web#default`);
    socket.write("frame-1");
    expect(await read(socket)).toBe("echo:frame-1");
    socket.destroy();
  });

  it("refuses an Upgrade with no route with 404 NR and closes", async () => {
    await mesh.applyAndWait(
      [client],
      virtualService("chat.example.com", [
        { match: [{ uri: { prefix: "/rooms" } }], route: [{ destination: { host: "web" } }] },
      ]),
    );
    const socket = tcpConnect(client.outboundPort, "127.0.0.1");
    await once(socket, "connect");
    socket.write(
      "GET / HTTP/1.1\r\nhost: chat.example.com\r\nconnection: Upgrade\r\nupgrade: websocket\r\n\r\n",
    );
    const head = await read(socket);
    expect(head).toMatch(/^HTTP\/1\.1 404 /);
    expect(head).toContain(`${RESPONSE_FLAGS_HEADER}: NR`);
    await once(socket, "close");
  });

  it("passes an Upgrade to a host outside the registry through to it (ALLOW_ANY)", async () => {
    const socket = tcpConnect(client.outboundPort, "127.0.0.1");
    await once(socket, "connect");
    socket.write(
      `GET /direct HTTP/1.1\r\nhost: 127.0.0.1:${direct.upgrade}\r\nconnection: Upgrade\r\nupgrade: websocket\r\n\r\n`,
    );
    const head = await read(socket);
    expect(head).toMatch(/^HTTP\/1\.1 101 /);
    expect(head.toLowerCase()).toContain("x-path: /direct");
    expect(head).toContain(`${ROUTE_HEADER}: MeshConfig/default#outboundTrafficPolicy`);
    socket.write("frame-2");
    expect(await read(socket)).toBe("echo:frame-2");
    socket.destroy();
  });
});

describe("raw TCP (CONNECT to the outbound listener)", () => {
  it("delivers a server-first greeting at once, without the client sending a byte", async () => {
    const { status, socket, head } = await tunnel("mysql:3306");
    expect(status).toBe(200);
    expect(await read(socket, head)).toMatch(/^HELLO v[12]\n$/);
    socket.write("select 1");
    expect(await read(socket)).toBe("SELECT 1");
    socket.destroy();
  });

  it("serves a port bound to the service for clients that cannot CONNECT: the greeting comes first", async () => {
    const socket = tcpConnect(client.tcpPorts["mysql:3306"] as number, "127.0.0.1");
    expect(await read(socket)).toMatch(/^HELLO v[12]\n$/);
    socket.write("ping");
    expect(await read(socket)).toBe("PING");
    socket.destroy();
  });

  it("splits connections by the weights of a VirtualService tcp rule", async () => {
    await mesh.applyAndWait([client], {
      apiVersion: "networking.istio.io/v1",
      kind: "VirtualService",
      metadata: { name: "mysql", namespace: "default" },
      spec: {
        hosts: ["mysql"],
        tcp: [
          {
            match: [{ port: 3306 }],
            route: [
              { destination: { host: "mysql", subset: "v1" }, weight: 0 },
              { destination: { host: "mysql", subset: "v2" }, weight: 100 },
            ],
          },
        ],
      },
    });
    const greetings = new Set<string>();
    for (let i = 0; i < 4; i++) {
      const { socket, head } = await tunnel("mysql.default.svc.cluster.local:3306");
      greetings.add(await read(socket, head));
      socket.destroy();
    }
    expect([...greetings]).toEqual(["HELLO v2\n"]);
  });

  it("reaches one pod of a headless Service by its own name (<pod>.<service>)", async () => {
    for (const [pod, greeting] of [
      ["mysql-v1", "HELLO v1\n"],
      ["mysql-v2", "HELLO v2\n"],
    ]) {
      for (const name of [`${pod}.mysql-pods:3306`, `${pod}.mysql-pods.default.svc.cluster.local:3306`]) {
        const { status, socket, head } = await tunnel(name);
        expect(status).toBe(200);
        expect(await read(socket, head)).toBe(greeting);
        socket.destroy();
      }
    }
  });

  it("tunnels to a destination outside the registry at the address it names (ALLOW_ANY)", async () => {
    const { status, socket, head } = await tunnel(`127.0.0.1:${direct.greeting}`);
    expect(status).toBe(200);
    expect(await read(socket, head)).toBe("HELLO v1\n");
    socket.write("direct");
    expect(await read(socket)).toBe("DIRECT");
    socket.destroy();
  });

  it("refuses a CONNECT target without a port with 404 NR", async () => {
    const { status, socket } = await tunnel("mysql");
    socket.destroy();
    expect(status).toBe(404);
  });

  it("counts TCP connections and bytes on both sidecars with Istio's labels, promtool-clean", async () => {
    const { socket, head } = await tunnel("mysql:3306");
    await read(socket, head);
    socket.write("abc");
    await read(socket);
    socket.destroy();
    await new Promise((resolve) => setTimeout(resolve, 100));
    const source = await client.metrics();
    expect(source).toMatch(
      /istio_tcp_connections_opened_total\{reporter="source"[^}]*destination_service="mysql\.default\.svc\.cluster\.local"[^}]*request_protocol="tcp"/,
    );
    expect(source).toMatch(/istio_tcp_received_bytes_total\{reporter="source"[^}]*\} [1-9]/);
    expect(source).toMatch(/istio_tcp_connections_closed_total\{reporter="source"/);
    const destination = `${await db.v2.metrics()}`;
    expect(destination).toMatch(
      /istio_tcp_sent_bytes_total\{reporter="destination"[^}]*destination_app="mysql"[^}]*\} [1-9]/,
    );
    for (const text of [source, destination])
      expect(checkMetrics(text, ISTIO_NAME_LINTS).problems).toEqual([]);
  });
});
