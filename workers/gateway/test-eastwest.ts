/**
 * Test support (not a `*.test.ts`): an east-west / internal gateway on a real mesh (nats-server,
 * mesh CA, openssl certificates) with one server per TLS mode Jibe's gateway implements, for the
 * suites that drive it with `curl` and `openssl s_client`.
 */
import { readFile } from "node:fs/promises";
import { createServer as createHttpsServer } from "node:https";
import { type AddressInfo, createServer as createNetServer } from "node:net";
import { silentLogger } from "../../broker/logger.ts";
import type { RotationClient } from "../../identity/rotation-client.ts";
import { createTestIssuer } from "../sidecar/test-identity.ts";
import {
  freePort,
  service,
  startTestApp,
  startTestMesh,
  type TestApp,
  waitFor,
} from "../sidecar/test-mesh.ts";
import { type Gateway, startGateway } from "./gateway.ts";
import {
  type CertificateDir,
  createCertificateDir,
  curlHttps,
  runCommand,
  sClient,
} from "./test-certificates.ts";

export const INTERNAL = "internal.example.test";
export const RESTRICTED = "restricted.example.test";
export const OPTIONAL = "optional.example.test";
export const PINNED = "pinned.example.test";
export const ECHO = "echo.example.test";
export const MESH_ECHO = "mesh-echo.example.test";
export const DB_SNI = "outbound_.443_._.db.default.svc.cluster.local";
export const GATEWAY_ID = "spiffe://cluster.local/ns/default/sa/eastwest";

/** The running gateway and what stands behind it. */
export interface EastWestGateway {
  gateway: Gateway;
  /** The HTTP backend (productpage) the HTTPS servers route to. */
  app: TestApp;
  certs: CertificateDir;
  /** Server ports: HTTPS (ISTIO_MUTUAL, OPTIONAL_MUTUAL, pinned MUTUAL), TLS (terminated → tcp, and a TCP fallback), TCP, AUTO_PASSTHROUGH. */
  ports: { https: number; tls: number; tcp: number; auto: number };
  stop(): Promise<void>;
}

/**
 * Starts the gateway (labels `istio: eastwestgateway`, identity `sa/eastwest`) with its Gateway,
 * VirtualServices and backends: productpage (HTTP), a server-first echo service (TCP: greets,
 * echoes one line, closes) and a backend with its own TLS server (`db`, for AUTO_PASSTHROUGH).
 * Certificates: `ca` (servers and clients `client`, `client2`, `revoked`, revoked in `ca.crl`),
 * `other-ca` (`stranger`), `backend-ca` (`db`), and the mesh client's SVID in `mesh/`.
 *
 * @example
 * ```ts
 * const eastWest = await startEastWestGateway();
 * await eastWest.stop();
 * ```
 */
export async function startEastWestGateway(): Promise<EastWestGateway> {
  const identities: RotationClient[] = [];
  const mesh = await startTestMesh();
  const certs = await createCertificateDir();
  await certs.ca("ca");
  await certs.ca("other-ca");
  await certs.ca("backend-ca");
  await certs.leaf("optional", "ca", `DNS:${OPTIONAL}`);
  await certs.leaf("client", "ca", "URI:spiffe://example.test/client");
  await certs.leaf("stranger", "other-ca", "URI:spiffe://example.test/client");
  await certs.leaf("pinned", "ca", `DNS:${PINNED}`);
  await certs.leaf("client2", "ca", "URI:spiffe://example.test/client2");
  await certs.leaf("revoked", "ca", "URI:spiffe://example.test/revoked");
  await certs.crl("ca", ["revoked"]);
  const fingerprint = async (name: string) =>
    (
      await runCommand("openssl", [
        "x509",
        "-noout",
        "-fingerprint",
        "-sha256",
        "-in",
        certs.path(`${name}.crt`),
      ])
    ).stdout
      .trim()
      .split("=")[1]!;
  await certs.leaf("echo-rsa", "ca", `DNS:${ECHO}`, "rsa");
  await certs.leaf("echo-ec", "ca", `DNS:${ECHO}`);
  await certs.leaf("db", "backend-ca", "DNS:db.default.svc.cluster.local");
  const secret = async (name: string, from: string) => {
    await certs.write(`credentials/${name}/tls.crt`, await readFile(certs.path(`${from}.crt`), "utf8"));
    await certs.write(`credentials/${name}/tls.key`, await readFile(certs.path(`${from}.key`), "utf8"));
  };
  await secret("optional-cert", "optional");
  // Istio's separate CA Secret: <credentialName>-cacert with ca.crt.
  await certs.write("credentials/optional-cert-cacert/ca.crt", await readFile(certs.path("ca.crt"), "utf8"));
  await secret("echo-rsa", "echo-rsa");
  await secret("echo-ec", "echo-ec");

  // The mesh CA: the gateway's SVID (ISTIO_MUTUAL) and a mesh client's, written out for openssl and curl.
  const issuer = await createTestIssuer();
  const issue = (sa: string) => {
    const client = issuer.issue(sa);
    identities.push(client);
    return client;
  };
  const meshClient = await issue("client").ready;
  await certs.write("mesh/client.crt", meshClient.certChainPem);
  await certs.write("mesh/client.key", meshClient.keyPem);
  await certs.write("mesh/roots.pem", issuer.rootPem);

  const app = await startTestApp("productpage");
  // A server-first TCP service: it greets, then echoes one line and closes.
  const echo = createNetServer((socket) => {
    socket.on("error", () => socket.destroy());
    socket.write("hello from echo\n");
    socket.once("data", (chunk) => socket.end(`echo: ${chunk.toString().trim()}\n`));
  });
  await new Promise<void>((resolve) => echo.listen(0, "127.0.0.1", resolve));
  const backendTls = createHttpsServer(
    { cert: await readFile(certs.path("db.crt")), key: await readFile(certs.path("db.key")) },
    (_req, res) => res.end("answered by the backend's own TLS server\n"),
  );
  await new Promise<void>((resolve) => backendTls.listen(0, "127.0.0.1", resolve));

  const ports = {
    https: await freePort(),
    tls: await freePort(),
    tcp: await freePort(),
    auto: await freePort(),
  };
  const gateway = await startGateway({
    nc: mesh.nc,
    verifier: mesh.verifier,
    proxy: {
      id: "gateway~eastwest~default",
      role: "gateway",
      namespace: "default",
      labels: { istio: "eastwestgateway" },
    },
    host: "127.0.0.1",
    credentialsDir: certs.path("credentials"),
    identity: issue("eastwest"),
    log: silentLogger,
  });
  const workload = (name: string, portName: string, port: number) => ({
    apiVersion: "networking.istio.io/v1",
    kind: "WorkloadEntry",
    metadata: { name, namespace: "default" },
    spec: { address: "127.0.0.1", labels: { app: name }, ports: { [portName]: port } },
  });
  const plainService = (name: string, portName: string, port: number) => ({
    apiVersion: "v1",
    kind: "Service",
    metadata: { name, namespace: "default" },
    spec: { selector: { app: name }, ports: [{ name: portName, port }] },
  });
  await mesh.applyAndWait(
    [gateway],
    service("productpage"),
    workload("productpage", "http", app.port),
    plainService("echo", "tcp", 7000),
    workload("echo", "tcp", (echo.address() as AddressInfo).port),
    plainService("db", "tls", 443),
    workload("db", "tls", (backendTls.address() as AddressInfo).port),
    {
      apiVersion: "networking.istio.io/v1",
      kind: "Gateway",
      metadata: { name: "eastwest", namespace: "default" },
      spec: {
        selector: { istio: "eastwestgateway" },
        servers: [
          {
            port: { number: ports.https, name: "https-internal", protocol: "HTTPS" },
            hosts: [INTERNAL],
            tls: { mode: "ISTIO_MUTUAL" },
          },
          {
            port: { number: ports.https, name: "https-restricted", protocol: "HTTPS" },
            hosts: [RESTRICTED],
            tls: { mode: "ISTIO_MUTUAL", subjectAltNames: ["spiffe://cluster.local/ns/default/sa/admin"] },
          },
          {
            port: { number: ports.https, name: "https-optional", protocol: "HTTPS" },
            hosts: [OPTIONAL],
            tls: { mode: "OPTIONAL_MUTUAL", credentialName: "optional-cert" },
          },
          {
            port: { number: ports.https, name: "https-pinned", protocol: "HTTPS" },
            hosts: [PINNED],
            tls: {
              mode: "MUTUAL",
              serverCertificate: certs.path("pinned.crt"),
              privateKey: certs.path("pinned.key"),
              caCertificates: certs.path("ca.crt"),
              caCrl: certs.path("ca.crl"),
              verifyCertificateHash: [await fingerprint("client"), await fingerprint("revoked")],
            },
          },
          {
            port: { number: ports.tls, name: "tls-echo", protocol: "TLS" },
            hosts: [ECHO],
            tls: { mode: "SIMPLE", credentialNames: ["echo-rsa", "echo-ec"] },
          },
          {
            port: { number: ports.tls, name: "tls-mesh-echo", protocol: "TLS" },
            hosts: [MESH_ECHO],
            tls: { mode: "ISTIO_MUTUAL" },
          },
          { port: { number: ports.tcp, name: "tcp-echo", protocol: "TCP" }, hosts: ["*"] },
          // The same port as the TLS servers: it takes what no TLS server matches.
          { port: { number: ports.tls, name: "tcp-fallback", protocol: "TCP" }, hosts: ["*"] },
          {
            port: { number: ports.auto, name: "tls-auto", protocol: "TLS" },
            hosts: ["*.local"],
            tls: { mode: "AUTO_PASSTHROUGH" },
          },
        ],
      },
    },
    {
      apiVersion: "networking.istio.io/v1",
      kind: "VirtualService",
      metadata: { name: "internal", namespace: "default" },
      spec: {
        hosts: [INTERNAL, RESTRICTED, OPTIONAL, PINNED],
        gateways: ["eastwest"],
        http: [{ route: [{ destination: { host: "productpage", port: { number: 9080 } } }] }],
      },
    },
    {
      apiVersion: "networking.istio.io/v1",
      kind: "VirtualService",
      metadata: { name: "echo", namespace: "default" },
      spec: {
        hosts: [ECHO, MESH_ECHO],
        gateways: ["eastwest"],
        tcp: [{ route: [{ destination: { host: "echo", port: { number: 7000 } } }] }],
      },
    },
  );
  await gateway.settled();
  await waitFor(() => Object.keys(gateway.ports()).length === 4, 5_000, "gateway ports");
  return {
    gateway,
    app,
    certs,
    ports,
    async stop() {
      await gateway.stop();
      await app.stop();
      await new Promise((resolve) => echo.close(resolve));
      await new Promise((resolve) => backendTls.close(resolve));
      for (const identity of identities) identity.stop();
      await mesh.stop();
      await certs.remove();
    },
  };
}

/** The real clients of the suites, bound to a fixture's certificates. */
export function clientsOf(certs: CertificateDir) {
  const status = (out: string) => out.trim().split("\n").at(-1);
  /** `curl` over HTTPS to the gateway (`-k` for a mesh certificate: a SPIFFE ID, no DNS name). */
  const curl = curlHttps;
  const meshClient = () => ["--cert", certs.path("mesh/client.crt"), "--key", certs.path("mesh/client.key")];
  /** s_client's options for the mesh client's SVID, with its chain (the mesh CA has an intermediate). */
  const meshClientCertificate = () => [
    "-cert",
    certs.path("mesh/client.crt"),
    "-cert_chain",
    certs.path("mesh/client.crt"),
    "-key",
    certs.path("mesh/client.key"),
  ];
  /** The subjectAltName of the first certificate s_client printed. */
  const peerSan = async (output: string): Promise<string> => {
    const pem = /-----BEGIN CERTIFICATE-----[\s\S]+?-----END CERTIFICATE-----/.exec(output)?.[0] ?? "";
    return (await runCommand("openssl", ["x509", "-noout", "-ext", "subjectAltName"], pem)).stdout;
  };
  return { status, curl, meshClient, meshClientCertificate, sClient, peerSan };
}
