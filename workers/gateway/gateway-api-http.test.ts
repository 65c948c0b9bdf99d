import { once } from "node:events";
import { readFile } from "node:fs/promises";
import { connect as connectHttp2, createServer as createHttp2Server, type Http2Server } from "node:http2";
import type { AddressInfo } from "node:net";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { silentLogger } from "../../broker/logger.ts";
import { RESPONSE_FLAGS_HEADER } from "../engine/index.ts";
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
} from "../sidecar/test-mesh.ts";
import { type Gateway, startGateway } from "./gateway.ts";
import { type CertificateDir, createCertificateDir, curlHttps, runCommand } from "./test-certificates.ts";

/**
 * A Gateway API Gateway (`gatewayClassName: jibe`) served by the real Node gateway, which
 * implements it by name (`JIBE_GATEWAYS`): an HTTP listener and three HTTPS listeners on one port
 * (certificates from `certificateRefs` Secrets, picked by SNI from the listener hostnames), an
 * HTTPRoute and a GRPCRoute attached. Clients: `curl`, `openssl s_client` and `node:http2`
 * (gRPC over TLS with ALPN h2, and h2c with prior knowledge on the HTTP listener).
 */

const SHOP = "shop.example.test";
const API = "api.example.test";
const GRPC = "grpc.example.test";

let mesh: TestMesh;
let certs: CertificateDir;
let gateway: Gateway;
let app: TestApp;
let greeter: Http2Server;
// The HTTP listener is port 80, bound elsewhere (JIBE_GATEWAY_PORT_MAP); HTTPS listens as itself.
const ports = { http: 0, https: 0 };

/** One gRPC message: uncompressed flag, 4-byte big-endian length, payload. */
function grpcFrame(payload: string): Buffer {
  const bytes = Buffer.from(payload);
  const prefix = Buffer.alloc(5);
  prefix.writeUInt32BE(bytes.length, 1);
  return Buffer.concat([prefix, bytes]);
}

/** An h2c gRPC app answering `greeter <path>` as one message, `grpc-status: 0`. */
async function startGreeter(): Promise<number> {
  greeter = createHttp2Server();
  greeter.on("stream", (stream, headers) => {
    stream.on("data", () => {});
    stream.on("end", () => {
      stream.respond({ ":status": 200, "content-type": "application/grpc" }, { waitForTrailers: true });
      stream.once("wantTrailers", () => stream.sendTrailers({ "grpc-status": "0" }));
      stream.end(grpcFrame(`greeter ${headers[":path"]}`));
    });
  });
  greeter.listen(0, "127.0.0.1");
  await once(greeter, "listening");
  return (greeter.address() as AddressInfo).port;
}

/** A unary gRPC call over one new HTTP/2 connection: `https://` (TLS, ALPN h2) or `http://` (h2c). */
async function grpcCall(
  url: string,
  authority: string,
  path: string,
): Promise<{ status: number; message: string; grpcStatus: unknown; alpn: string | false | undefined }> {
  const ca = await readFile(certs.path("ca.crt"));
  return new Promise((resolve, reject) => {
    const session = connectHttp2(url, { ca, servername: GRPC });
    session.on("error", reject);
    const stream = session.request({
      ":method": "POST",
      ":path": path,
      ":authority": authority,
      "content-type": "application/grpc",
      te: "trailers",
    });
    let status = 0;
    let grpcStatus: unknown;
    const chunks: Buffer[] = [];
    stream.on("response", (h) => {
      status = Number(h[":status"]);
      grpcStatus = h["grpc-status"];
    });
    stream.on("trailers", (t) => {
      grpcStatus = t["grpc-status"] ?? grpcStatus;
    });
    stream.on("data", (chunk: Buffer) => chunks.push(chunk));
    stream.on("error", reject);
    stream.on("end", () => {
      const alpn = session.alpnProtocol;
      session.close();
      resolve({ status, message: Buffer.concat(chunks).subarray(5).toString(), grpcStatus, alpn });
    });
    stream.end(grpcFrame("hello"));
  });
}

const https = (name: string, hostname: string, secret: string) => ({
  name,
  port: ports.https,
  protocol: "HTTPS",
  hostname,
  tls: { mode: "Terminate", certificateRefs: [{ kind: "Secret", name: secret }] },
});

beforeAll(async () => {
  mesh = await startTestMesh();
  certs = await createCertificateDir();
  await certs.ca("ca");
  for (const [name, san] of [
    ["shop", `DNS:${SHOP}`],
    ["api", `DNS:${API}`],
    ["wild", "DNS:*.example.test"],
  ] as const) {
    await certs.leaf(name, "ca", san);
    // certificateRefs Secrets, mounted as a kubernetes.io/tls Secret would be.
    await certs.write(`credentials/${name}-cert/tls.crt`, await readFile(certs.path(`${name}.crt`), "utf8"));
    await certs.write(`credentials/${name}-cert/tls.key`, await readFile(certs.path(`${name}.key`), "utf8"));
  }
  app = await startTestApp("productpage");
  const greeterPort = await startGreeter();
  ports.http = await freePort();
  ports.https = await freePort();
  gateway = await startGateway({
    nc: mesh.nc,
    verifier: mesh.verifier,
    proxy: {
      id: "gateway~web~infra",
      role: "gateway",
      namespace: "infra",
      labels: {},
      gateways: ["infra/web"],
    },
    host: "127.0.0.1",
    bindPort: (port) => (port === 80 ? ports.http : port),
    credentialsDir: certs.path("credentials"),
    log: silentLogger,
  });
  await mesh.applyAndWait(
    [gateway],
    service("productpage", 9080, "infra"),
    workloadEntry("productpage", { app: "productpage" }, app.port, "infra"),
    {
      apiVersion: "v1",
      kind: "Service",
      metadata: { name: "greeter", namespace: "infra" },
      spec: { selector: { app: "greeter" }, ports: [{ name: "grpc", port: 50051 }] },
    },
    {
      apiVersion: "networking.istio.io/v1",
      kind: "WorkloadEntry",
      metadata: { name: "greeter", namespace: "infra" },
      spec: { address: "127.0.0.1", labels: { app: "greeter" }, ports: { grpc: greeterPort } },
    },
    {
      apiVersion: "gateway.networking.k8s.io/v1",
      kind: "Gateway",
      metadata: { name: "web", namespace: "infra" },
      spec: {
        gatewayClassName: "jibe",
        listeners: [
          { name: "http", port: 80, protocol: "HTTP" },
          https("https-shop", SHOP, "shop-cert"),
          https("https-api", API, "api-cert"),
          https("https-any", "*.example.test", "wild-cert"),
        ],
      },
    },
    {
      apiVersion: "gateway.networking.k8s.io/v1",
      kind: "HTTPRoute",
      metadata: { name: "shop", namespace: "infra" },
      spec: {
        parentRefs: [{ name: "web" }],
        hostnames: [SHOP],
        rules: [
          {
            matches: [{ path: { type: "PathPrefix", value: "/products" } }],
            filters: [
              {
                type: "ResponseHeaderModifier",
                responseHeaderModifier: { add: [{ name: "x-served-by", value: "jibe" }] },
              },
            ],
            backendRefs: [{ name: "productpage", port: 9080 }],
          },
        ],
      },
    },
    {
      apiVersion: "gateway.networking.k8s.io/v1",
      kind: "HTTPRoute",
      metadata: { name: "api", namespace: "infra" },
      spec: {
        parentRefs: [{ name: "web", sectionName: "https-api" }],
        hostnames: [API],
        rules: [{ backendRefs: [{ name: "productpage", port: 9080 }] }],
      },
    },
    {
      apiVersion: "gateway.networking.k8s.io/v1",
      kind: "GRPCRoute",
      metadata: { name: "greeter", namespace: "infra" },
      spec: {
        parentRefs: [{ name: "web" }],
        hostnames: [GRPC],
        rules: [
          {
            matches: [{ method: { service: "hello.Greeter" } }],
            backendRefs: [{ name: "greeter", port: 50051 }],
          },
        ],
      },
    },
  );
  await gateway.settled();
  await waitFor(() => Object.keys(gateway.ports()).length === 2, 5_000, "gateway ports");
}, 60_000);

afterAll(async () => {
  await gateway?.stop();
  await app?.stop();
  greeter?.close();
  await mesh?.stop();
  await certs?.remove();
});

const curl = (host: string, path: string, ...extra: string[]) =>
  curlHttps(host, ports.https, path, "--cacert", certs.path("ca.crt"), ...extra);

const subjectOf = async (...args: string[]) => {
  const out = await runCommand("openssl", ["s_client", "-connect", `127.0.0.1:${ports.https}`, ...args], "");
  return /subject=CN ?= ?(\S+)/.exec(out.stdout)?.[1];
};

describe("Gateway API Gateway on the Node gateway (HTTP and HTTPS listeners)", () => {
  it("opens one port per listener port: the HTTP listener and the three HTTPS listeners sharing one", () => {
    expect(gateway.ports()).toEqual({ 80: ports.http, [ports.https]: ports.https });
  });

  it("HTTP listener (port 80, bound elsewhere): routes the HTTPRoute attached to the whole Gateway, matched by the listener port, with its filters", async () => {
    const answer = await call(ports.http, `${SHOP}:${ports.http}`, "/products/1");
    expect(answer.status).toBe(200);
    expect(JSON.parse(answer.body)).toMatchObject({ app: "productpage", path: "/products/1" });
    expect(answer.headers["x-served-by"]).toBe("jibe");
    const unmatched = await call(ports.http, `${SHOP}:${ports.http}`, "/admin");
    expect(unmatched.status).toBe(404);
  });

  it("HTTPS: picks the certificate by SNI from the listener hostnames (exact before *.example.test), none for an unknown SNI", async () => {
    expect(await subjectOf("-servername", SHOP)).toBe(SHOP);
    expect(await subjectOf("-servername", API)).toBe(API);
    expect(await subjectOf("-servername", "other.example.test")).toBe("*.example.test");
    const refusedBefore = gateway.stats().connections.refused;
    expect(await subjectOf("-servername", "shop.example.org")).toBeUndefined();
    expect(gateway.stats().connections.refused).toBeGreaterThan(refusedBefore);
  });

  it("HTTPS: terminates TLS and routes with the HTTPRoutes (HTTP/1.1 and HTTP/2 by ALPN)", async () => {
    const before = app.requests;
    const shop = await curl(SHOP, "/products");
    expect(shop.stderr).toBe("");
    expect(shop.stdout.trim().split("\n").at(-1)).toBe("200");
    expect(shop.stdout).toContain('"path":"/products"');
    expect(app.lastHeaders["x-forwarded-proto"]).toBe("https");
    const api = await curl(
      API,
      "/v1/orders",
      "--http2",
      "-o",
      "/dev/null",
      "-w",
      "%{http_version} %{http_code}",
    );
    expect(api.stdout.trim().split("\n").at(-1)).toBe("2 200");
    expect(app.requests).toBe(before + 2);
  });

  it("a route attached to one listener (sectionName) is not served on the other port", async () => {
    const answer = await call(ports.http, `${API}:${ports.http}`, "/v1/orders");
    expect(answer.status).toBe(404);
    expect(answer.headers[RESPONSE_FLAGS_HEADER]).toBe("NR");
  });

  it("GRPCRoute over HTTPS: gRPC with ALPN h2 to an h2c backend, grpc-status in trailers", async () => {
    const answer = await grpcCall(
      `https://127.0.0.1:${ports.https}`,
      `${GRPC}:${ports.https}`,
      "/hello.Greeter/SayHello",
    );
    expect(answer).toMatchObject({ status: 200, grpcStatus: "0", alpn: "h2" });
    expect(answer.message).toBe("greeter /hello.Greeter/SayHello");
  });

  it("GRPCRoute on the HTTP listener: h2c with prior knowledge; a service no rule matches is UNIMPLEMENTED", async () => {
    const answer = await grpcCall(
      `http://127.0.0.1:${ports.http}`,
      `${GRPC}:${ports.http}`,
      "/hello.Greeter/SayHi",
    );
    expect(answer).toMatchObject({ status: 200, grpcStatus: "0" });
    expect(answer.message).toBe("greeter /hello.Greeter/SayHi");
    const other = await grpcCall(
      `http://127.0.0.1:${ports.http}`,
      `${GRPC}:${ports.http}`,
      "/other.Svc/Call",
    );
    // No route (404 NR) reaches a gRPC client as UNIMPLEMENTED, as Envoy maps it.
    expect(other).toMatchObject({ status: 200, grpcStatus: "12" });
    expect(other.message).not.toContain("greeter");
  });
});
