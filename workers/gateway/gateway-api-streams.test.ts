import { readFile } from "node:fs/promises";
import { createServer as createNetServer, connect as netConnect, type Server } from "node:net";
import { createServer as createTlsServer, type Server as TlsServer, connect as tlsConnect } from "node:tls";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { silentLogger } from "../../broker/logger.ts";
import { freePort, startTestMesh, type TestMesh, waitFor } from "../sidecar/test-mesh.ts";
import { type Gateway, startGateway } from "./gateway.ts";
import { type CertificateDir, createCertificateDir } from "./test-certificates.ts";

/**
 * Gateway API TCPRoute and TLSRoute (experimental channel) through the real Node gateway: a
 * Gateway `infra/edge` with a TCP listener (a server-first echo service behind a TCPRoute) and a
 * TLS Passthrough listener (TLSRoutes by SNI to two TLS servers that the client handshakes with
 * end to end).
 */

const ALPHA = "gateway.networking.k8s.io/v1alpha2";
const SHOP = "shop.example.test";
const ADMIN = "admin.example.test";

let mesh: TestMesh;
let certs: CertificateDir;
let gateway: Gateway;
const servers: (Server | TlsServer)[] = [];
const ports = { tcp: 0, tls: 0 };

async function listen<T extends Server | TlsServer>(server: T): Promise<number> {
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  servers.push(server);
  return (server.address() as { port: number }).port;
}

/** A TLS server answering one line: `<name> got <line>`. */
async function tlsBackend(name: string): Promise<number> {
  const server = createTlsServer(
    { cert: await readFile(certs.path(`${name}.crt`)), key: await readFile(certs.path(`${name}.key`)) },
    (socket) => {
      socket.on("error", () => socket.destroy());
      socket.once("data", (chunk) => socket.end(`${name} got ${chunk.toString().trim()}\n`));
    },
  );
  return listen(server);
}

const service = (name: string, portName: string, port: number) => ({
  apiVersion: "v1",
  kind: "Service",
  metadata: { name, namespace: "infra" },
  spec: { selector: { app: name }, ports: [{ name: portName, port }] },
});
const workload = (name: string, portName: string, port: number) => ({
  apiVersion: "networking.istio.io/v1",
  kind: "WorkloadEntry",
  metadata: { name, namespace: "infra" },
  spec: { address: "127.0.0.1", labels: { app: name }, ports: { [portName]: port } },
});
const tlsRoute = (name: string, hostname: string) => ({
  apiVersion: ALPHA,
  kind: "TLSRoute",
  metadata: { name, namespace: "infra" },
  spec: {
    parentRefs: [{ name: "edge", sectionName: "tls" }],
    hostnames: [hostname],
    rules: [{ backendRefs: [{ name, port: 443 }] }],
  },
});

beforeAll(async () => {
  mesh = await startTestMesh();
  certs = await createCertificateDir();
  await certs.ca("ca");
  await certs.leaf("shop", "ca", `DNS:${SHOP}`);
  await certs.leaf("admin", "ca", `DNS:${ADMIN}`);
  const echo = createNetServer((socket) => {
    socket.on("error", () => socket.destroy());
    socket.write("hello from echo\n");
    socket.once("data", (chunk) => socket.end(`echo: ${chunk.toString().trim()}\n`));
  });
  const echoPort = await listen(echo);
  const shopPort = await tlsBackend("shop");
  const adminPort = await tlsBackend("admin");
  ports.tcp = await freePort();
  ports.tls = await freePort();
  gateway = await startGateway({
    nc: mesh.nc,
    verifier: mesh.verifier,
    proxy: {
      id: "gateway~edge~infra",
      role: "gateway",
      namespace: "infra",
      labels: {},
      gateways: ["infra/edge"],
    },
    host: "127.0.0.1",
    log: silentLogger,
  });
  await mesh.applyAndWait(
    [gateway],
    service("echo", "tcp", 7000),
    workload("echo", "tcp", echoPort),
    service("shop", "tls", 443),
    workload("shop", "tls", shopPort),
    service("admin", "tls", 443),
    workload("admin", "tls", adminPort),
    {
      apiVersion: "gateway.networking.k8s.io/v1",
      kind: "Gateway",
      metadata: { name: "edge", namespace: "infra" },
      spec: {
        gatewayClassName: "jibe",
        listeners: [
          { name: "tcp", port: ports.tcp, protocol: "TCP" },
          {
            name: "tls",
            port: ports.tls,
            protocol: "TLS",
            hostname: "*.example.test",
            tls: { mode: "Passthrough" },
          },
        ],
      },
    },
    {
      apiVersion: ALPHA,
      kind: "TCPRoute",
      metadata: { name: "echo", namespace: "infra" },
      spec: {
        parentRefs: [{ name: "edge", sectionName: "tcp" }],
        rules: [{ backendRefs: [{ name: "echo", port: 7000 }] }],
      },
    },
    tlsRoute("shop", SHOP),
    tlsRoute("admin", "*.example.test"),
  );
  await gateway.settled();
  await waitFor(() => Object.keys(gateway.ports()).length === 2, 5_000, "gateway ports");
}, 60_000);

afterAll(async () => {
  await gateway?.stop();
  for (const server of servers) await new Promise((resolve) => server.close(resolve));
  await mesh?.stop();
  await certs?.remove();
});

/** A TLS connection through the passthrough listener with `sni`: the backend's answer, or the failure. */
function throughTls(sni: string): Promise<string> {
  return new Promise((resolve) => {
    readFile(certs.path("ca.crt")).then((ca) => {
      const socket = tlsConnect({ host: "127.0.0.1", port: ports.tls, servername: sni, ca }, () => {
        socket.write("ping\n");
      });
      let answer = "";
      socket.on("data", (chunk) => {
        answer += chunk.toString();
      });
      socket.on("error", (error) => resolve(`error: ${error.message}`));
      socket.on("close", () => resolve(answer.trim() || "closed"));
    });
  });
}

describe("Gateway API TCPRoute on a TCP listener", () => {
  it("forwards every connection at once (a server-first protocol greets first)", async () => {
    const socket = netConnect({ host: "127.0.0.1", port: ports.tcp });
    const closed = new Promise<void>((resolve) => socket.once("close", () => resolve()));
    let received = "";
    socket.on("data", (chunk) => {
      received += chunk.toString();
    });
    await waitFor(() => received.includes("hello from echo"), 5_000, "greeting");
    socket.write("plain\n");
    await closed;
    expect(received).toBe("hello from echo\necho: plain\n");
  });
});

describe("Gateway API TLSRoute on a TLS Passthrough listener", () => {
  it("routes by SNI, the most specific hostname first; the client handshakes with the backend itself", async () => {
    expect(await throughTls(SHOP)).toBe("shop got ping");
    expect(await throughTls(ADMIN)).toBe("admin got ping");
  });

  it("closes a connection whose SNI no TLSRoute takes", async () => {
    expect(await throughTls("shop.example.org")).toMatch(/^(error: |closed)/);
  });
});
