import { once } from "node:events";
import { connect as connectHttp2, createServer as createHttp2Server, type Http2Server } from "node:http2";
import type { AddressInfo } from "node:net";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { silentLogger } from "../../broker/logger.ts";
import { type Sidecar, startSidecar } from "./sidecar.ts";
import { startTestApp, startTestMesh, type TestMesh } from "./test-mesh.ts";

/**
 * A mesh (GAMMA) GRPCRoute on a real sidecar: real gRPC calls (node:http2, h2c) from a client
 * through its outbound listener to two h2c gRPC apps, routed by service/method and header matches,
 * with header modifiers and weights 0/100, and `grpc-status` in trailers end to end.
 */

let mesh: TestMesh;
let client: Sidecar;
const servers: Http2Server[] = [];

/** An h2c gRPC app answering `<name> <path> <x-route header>` as one message, `grpc-status: 0`. */
async function startGrpcApp(name: string): Promise<number> {
  const server = createHttp2Server();
  server.on("stream", (stream, headers) => {
    stream.on("data", () => {});
    stream.on("end", () => {
      stream.respond({ ":status": 200, "content-type": "application/grpc" }, { waitForTrailers: true });
      stream.once("wantTrailers", () => stream.sendTrailers({ "grpc-status": "0" }));
      stream.end(grpcFrame(`${name} ${headers[":path"]} ${headers["x-route"] ?? "-"}`));
    });
  });
  server.listen(0, "127.0.0.1");
  await once(server, "listening");
  servers.push(server);
  return (server.address() as AddressInfo).port;
}

/** One gRPC message: uncompressed flag, 4-byte big-endian length, payload. */
function grpcFrame(payload: string): Buffer {
  const bytes = Buffer.from(payload);
  const prefix = Buffer.alloc(5);
  prefix.writeUInt32BE(bytes.length, 1);
  return Buffer.concat([prefix, bytes]);
}

interface GrpcAnswer {
  status: number;
  served: string;
  headers: Record<string, unknown>;
  grpcStatus: unknown;
}

function grpcCall(path: string, headers: Record<string, string> = {}): Promise<GrpcAnswer> {
  return new Promise((resolve, reject) => {
    const session = connectHttp2(`http://127.0.0.1:${client.outboundPort}`);
    session.on("error", reject);
    const stream = session.request({
      ":method": "POST",
      ":path": path,
      ":authority": "greeter:50051",
      "content-type": "application/grpc",
      te: "trailers",
      ...headers,
    });
    let response: Record<string, unknown> = {};
    let trailers: Record<string, unknown> = {};
    const chunks: Buffer[] = [];
    stream.on("response", (h) => {
      response = h;
    });
    stream.on("trailers", (t) => {
      trailers = t;
    });
    stream.on("data", (chunk: Buffer) => chunks.push(chunk));
    stream.on("end", () => {
      session.close();
      const body = Buffer.concat(chunks);
      resolve({
        status: Number(response[":status"]),
        served: body.subarray(5).toString(),
        headers: response,
        grpcStatus: trailers["grpc-status"] ?? response["grpc-status"],
      });
    });
    stream.on("error", reject);
    stream.end(grpcFrame("hello"));
  });
}

const grpcService = (name: string) => ({
  apiVersion: "v1",
  kind: "Service",
  metadata: { name, namespace: "default" },
  spec: { selector: { app: name }, ports: [{ name: "grpc", port: 50051 }] },
});
const grpcEndpoint = (name: string, port: number) => ({
  apiVersion: "networking.istio.io/v1",
  kind: "WorkloadEntry",
  metadata: { name, namespace: "default" },
  spec: { address: "127.0.0.1", labels: { app: name }, ports: { grpc: port } },
});

beforeAll(async () => {
  mesh = await startTestMesh();
  const self = await startTestApp("client");
  client = await startSidecar({
    nc: mesh.nc,
    verifier: mesh.verifier,
    proxy: { id: "sidecar~client~default", role: "sidecar", namespace: "default", labels: { app: "client" } },
    appPort: self.port,
    log: silentLogger,
  });
  const docs: object[] = [grpcService("greeter")];
  for (const name of ["greeter-v1", "greeter-v2"])
    docs.push(grpcService(name), grpcEndpoint(name, await startGrpcApp(name)));
  docs.push({
    apiVersion: "gateway.networking.k8s.io/v1",
    kind: "GRPCRoute",
    metadata: { name: "greeter", namespace: "default" },
    spec: {
      parentRefs: [{ group: "", kind: "Service", name: "greeter", port: 50051 }],
      rules: [
        {
          matches: [{ method: { service: "hello.Broken" } }],
          backendRefs: [{ name: "no-such-greeter", port: 50051 }],
        },
        {
          matches: [
            {
              method: { service: "hello.Greeter", method: "SayHello" },
              headers: [{ name: "x-canary", value: "yes" }],
            },
          ],
          backendRefs: [{ name: "greeter-v2", port: 50051 }],
        },
        {
          matches: [{ method: { service: "hello.Greeter" } }],
          filters: [
            {
              type: "RequestHeaderModifier",
              requestHeaderModifier: { set: [{ name: "x-route", value: "grpcroute" }] },
            },
            {
              type: "ResponseHeaderModifier",
              responseHeaderModifier: { add: [{ name: "x-served-by", value: "greeter-route" }] },
            },
          ],
          backendRefs: [
            { name: "greeter-v1", port: 50051, weight: 100 },
            { name: "greeter-v2", port: 50051, weight: 0 },
          ],
        },
      ],
    },
  });
  await mesh.applyAndWait([client], ...docs);
}, 60_000);

afterAll(async () => {
  await client?.stop();
  for (const server of servers) await new Promise<void>((resolve) => server.close(() => resolve()));
  await mesh?.stop();
});

describe("GRPCRoute through a sidecar (h2c gRPC)", () => {
  it("routes by service and method, with request and response header modifiers", async () => {
    const answer = await grpcCall("/hello.Greeter/SayHello");
    expect(answer.status).toBe(200);
    expect(answer.served).toBe("greeter-v1 /hello.Greeter/SayHello grpcroute");
    expect(answer.headers["x-served-by"]).toBe("greeter-route");
    expect(answer.grpcStatus).toBe("0");
    expect((await grpcCall("/hello.Greeter/SayGoodbye")).served).toBe(
      "greeter-v1 /hello.Greeter/SayGoodbye grpcroute",
    );
  });

  it("routes a header match to its own backend", async () => {
    const answer = await grpcCall("/hello.Greeter/SayHello", { "x-canary": "yes" });
    expect(answer.served).toBe("greeter-v2 /hello.Greeter/SayHello -");
    expect(answer.grpcStatus).toBe("0");
  });

  it("answers UNAVAILABLE for a rule whose backend does not resolve", async () => {
    const answer = await grpcCall("/hello.Broken/Call");
    expect(answer.served).toBe("");
    expect(answer.grpcStatus).toBe("14");
  });

  it("answers a method no rule matches as the Gateway API says (404), with a gRPC status", async () => {
    const answer = await grpcCall("/other.Service/Call");
    expect(answer.served).toBe("");
    expect(answer.grpcStatus).toBe("12"); // UNIMPLEMENTED, as Envoy maps 404
  });
});
