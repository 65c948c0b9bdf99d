import { readFile } from "node:fs/promises";
import { createServer as createHttpsServer, type Server } from "node:https";
import type { AddressInfo } from "node:net";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { silentLogger } from "../../broker/logger.ts";
import { loadCertificateAuthority } from "../../identity/certificate-authority.ts";
import { generateCaMaterial } from "../../identity/generate-ca.ts";
import { createCertificateIssuer } from "../../identity/issuer.ts";
import { type RotationClient, startRotationClient } from "../../identity/rotation-client.ts";
import { RESPONSE_FLAGS_HEADER } from "../engine/index.ts";
import { TLS_MODE_ISTIO, TLS_MODE_LABEL } from "../sidecar/mesh-tls.ts";
import { type Sidecar, startSidecar } from "../sidecar/sidecar.ts";
import {
  call,
  freePort,
  service,
  startTestApp,
  startTestMesh,
  type TestApp,
  type TestMesh,
  waitFor,
} from "../sidecar/test-mesh.ts";
import { type Gateway, startGateway } from "./gateway.ts";
import { type CertificateDir, createCertificateDir, curlHttps, sClient } from "./test-certificates.ts";

/**
 * The Node ingress gateway against real clients: a real nats-server, an Istio Gateway selecting the
 * gateway by `istio: ingressgateway`, certificates made by openssl, `curl` and `openssl s_client`
 * as clients, and a backend reached through its STRICT sidecar over auto-mTLS (HTTP) or directly
 * (TLS passthrough).
 */

let mesh: TestMesh;
let certs: CertificateDir;
let gateway: Gateway;
let app: TestApp;
let sidecar: Sidecar;
let backendTls: Server;
const identities: RotationClient[] = [];
const ports = { http: 0, https: 0, tls: 0, ingressHttp: 0, ingressHttps: 0 };

const SHOP = "shop.example.test";
const API = "api.example.test";
const DB = "db.example.test";
const LEGACY = "legacy.example.test";

/** The Istio Gateway of the tests: HTTP with httpsRedirect, SIMPLE and MUTUAL on one port, PASSTHROUGH. */
function publicGateway(withPassthrough = true): object {
  const gateway = {
    apiVersion: "networking.istio.io/v1",
    kind: "Gateway",
    metadata: { name: "public", namespace: "default" },
    spec: {
      selector: { istio: "ingressgateway" },
      servers: [
        {
          port: { number: ports.http, name: "http", protocol: "HTTP" },
          hosts: [SHOP],
          tls: { httpsRedirect: true },
        },
        {
          port: { number: ports.https, name: "https-shop", protocol: "HTTPS" },
          hosts: [SHOP],
          tls: { mode: "SIMPLE", credentialName: "shop-cert" },
        },
        {
          port: { number: ports.https, name: "https-api", protocol: "HTTPS" },
          hosts: [API],
          tls: {
            mode: "MUTUAL",
            serverCertificate: certs.path("api.crt"),
            privateKey: certs.path("api.key"),
            caCertificates: certs.path("ca.crt"),
            subjectAltNames: ["spiffe://example.test/client"],
          },
        },
        {
          port: { number: ports.tls, name: "tls-db", protocol: "TLS" },
          hosts: [DB],
          tls: { mode: "PASSTHROUGH" },
        },
      ],
    },
  };
  if (!withPassthrough)
    gateway.spec.servers = gateway.spec.servers.filter((s) => s.tls.mode !== "PASSTHROUGH");
  return gateway;
}

beforeAll(async () => {
  mesh = await startTestMesh();
  certs = await createCertificateDir();
  await certs.ca("ca");
  await certs.ca("other-ca");
  await certs.ca("backend-ca");
  await certs.leaf("shop", "ca", `DNS:${SHOP}`);
  await certs.leaf("api", "ca", `DNS:${API}`);
  await certs.leaf("client", "ca", "URI:spiffe://example.test/client");
  await certs.leaf("stranger", "other-ca", "URI:spiffe://example.test/client");
  await certs.leaf("db", "backend-ca", `DNS:${DB}`);
  // credentialName "shop-cert", mounted as a Kubernetes TLS Secret would be.
  await certs.write("credentials/shop-cert/tls.crt", await readFile(certs.path("shop.crt"), "utf8"));
  await certs.write("credentials/shop-cert/tls.key", await readFile(certs.path("shop.key"), "utf8"));
  await certs.leaf("legacy", "ca", `DNS:${LEGACY}`);
  await certs.write("credentials/legacy-tls/tls.crt", await readFile(certs.path("legacy.crt"), "utf8"));
  await certs.write("credentials/legacy-tls/tls.key", await readFile(certs.path("legacy.key"), "utf8"));

  // A mesh CA: the gateway and the sidecar get SPIFFE certificates (auto-mTLS; the sidecar is STRICT).
  const now = Date.now();
  const { material } = await generateCaMaterial({ trustDomain: "cluster.local", now, crypto });
  const ca = await loadCertificateAuthority(material, { trustDomain: "cluster.local", now, crypto });
  const issuer = createCertificateIssuer({
    ca,
    crypto,
    authenticator: {
      authenticate: async (credential: { token: string }) => ({
        ok: true as const,
        grant: { trustDomain: "cluster.local", namespace: "default", serviceAccount: credential.token },
      }),
    },
  });
  const issue = (sa: string) => {
    const client = startRotationClient({
      spiffeId: `spiffe://cluster.local/ns/default/sa/${sa}`,
      crypto,
      fetch: (csr) => issuer.issue({ v: 1, csr, credential: { type: "join-token", token: sa } }),
    });
    identities.push(client);
    return client;
  };

  app = await startTestApp("productpage");
  sidecar = await startSidecar({
    identity: issue("productpage"),
    nc: mesh.nc,
    verifier: mesh.verifier,
    proxy: {
      id: "sidecar~productpage~default",
      role: "sidecar",
      namespace: "default",
      labels: { app: "productpage" },
    },
    appPort: app.port,
    log: silentLogger,
  });
  backendTls = createHttpsServer(
    { cert: await readFile(certs.path("db.crt")), key: await readFile(certs.path("db.key")) },
    (_req, res) => res.end("answered by the backend's own TLS server\n"),
  );
  await new Promise<void>((resolve) => backendTls.listen(0, "127.0.0.1", resolve));

  ports.http = await freePort();
  ports.https = await freePort();
  ports.tls = await freePort();
  // Ingress servers are ports 80 and 443; the gateway binds them elsewhere (JIBE_GATEWAY_PORT_MAP).
  ports.ingressHttp = await freePort();
  ports.ingressHttps = await freePort();
  gateway = await startGateway({
    nc: mesh.nc,
    verifier: mesh.verifier,
    proxy: {
      id: "gateway~ingress~default",
      role: "gateway",
      namespace: "default",
      labels: { istio: "ingressgateway" },
    },
    host: "127.0.0.1",
    bindPort: (port) => (port === 80 ? ports.ingressHttp : port === 443 ? ports.ingressHttps : port),
    credentialsDir: certs.path("credentials"),
    identity: issue("ingressgateway"),
    log: silentLogger,
  });
  await mesh.applyAndWait(
    [gateway, sidecar],
    service("productpage"),
    {
      apiVersion: "networking.istio.io/v1",
      kind: "WorkloadEntry",
      metadata: { name: "productpage", namespace: "default" },
      spec: {
        address: "127.0.0.1",
        labels: { app: "productpage", [TLS_MODE_LABEL]: TLS_MODE_ISTIO },
        ports: { http: sidecar.inboundPort },
      },
    },
    {
      apiVersion: "security.istio.io/v1",
      kind: "PeerAuthentication",
      metadata: { name: "default", namespace: "istio-system" },
      spec: { mtls: { mode: "STRICT" } },
    },
    {
      apiVersion: "v1",
      kind: "Service",
      metadata: { name: "db", namespace: "default" },
      spec: { selector: { app: "db" }, ports: [{ name: "tls", port: 443 }] },
    },
    {
      apiVersion: "networking.istio.io/v1",
      kind: "WorkloadEntry",
      metadata: { name: "db", namespace: "default" },
      spec: {
        address: "127.0.0.1",
        labels: { app: "db" },
        ports: { tls: (backendTls.address() as AddressInfo).port },
      },
    },
    publicGateway(),
    {
      apiVersion: "networking.k8s.io/v1",
      kind: "Ingress",
      metadata: { name: "legacy", namespace: "default" },
      spec: {
        ingressClassName: "jibe",
        tls: [{ hosts: [LEGACY], secretName: "legacy-tls" }],
        rules: [
          {
            host: LEGACY,
            http: {
              paths: [
                {
                  path: "/",
                  pathType: "Prefix",
                  backend: { service: { name: "productpage", port: { number: 9080 } } },
                },
              ],
            },
          },
        ],
      },
    },
    {
      apiVersion: "networking.istio.io/v1",
      kind: "VirtualService",
      metadata: { name: "shop", namespace: "default" },
      spec: {
        hosts: [SHOP, API],
        gateways: ["public"],
        http: [{ route: [{ destination: { host: "productpage", port: { number: 9080 } } }] }],
      },
    },
    {
      apiVersion: "networking.istio.io/v1",
      kind: "VirtualService",
      metadata: { name: "db", namespace: "default" },
      spec: {
        hosts: [DB],
        gateways: ["public"],
        tls: [{ match: [{ sniHosts: [DB], port: ports.tls }], route: [{ destination: { host: "db" } }] }],
      },
    },
  );
  await gateway.settled();
  await waitFor(() => Object.keys(gateway.ports()).length === 5, 5_000, "gateway ports");
}, 60_000);

afterAll(async () => {
  await gateway?.stop();
  await sidecar?.stop();
  await app?.stop();
  if (backendTls) await new Promise((resolve) => backendTls.close(resolve));
  for (const identity of identities) identity.stop();
  await mesh?.stop();
  await certs?.remove();
});

const curl = curlHttps;

describe("ingress gateway (Istio Gateway servers with TLS)", () => {
  it("SIMPLE: serves the certificate of the server whose hosts match the SNI and routes through the backend's sidecar", async () => {
    const shop = await sClient(ports.https, SHOP, ["-CAfile", certs.path("ca.crt")]);
    expect(shop.stdout).toMatch(new RegExp(`subject=CN ?= ?${SHOP.replace(/\./g, "\\.")}`));
    expect(shop.stdout).toContain("Verify return code: 0 (ok)");
    const api = await sClient(ports.https, API);
    expect(api.stdout).toMatch(new RegExp(`subject=CN ?= ?${API.replace(/\./g, "\\.")}`));

    const before = app.requests;
    const answer = await curl(SHOP, ports.https, "/products", "--cacert", certs.path("ca.crt"));
    expect(answer.stderr).toBe("");
    expect(answer.stdout.trim().split("\n").at(-1)).toBe("200");
    expect(JSON.parse(answer.stdout.split("\n")[0]!)).toMatchObject({
      app: "productpage",
      path: "/products",
    });
    expect(app.requests).toBe(before + 1);
    expect(app.lastHeaders["x-forwarded-proto"]).toBe("https");
    // The sidecar is STRICT: the request reached it over mTLS with the gateway's certificate.
    expect(sidecar.stats().mtls.mtls).toBeGreaterThan(0);
    expect(sidecar.stats().mtls.plaintext).toBe(0);
  });

  it("SIMPLE: HTTP/2 negotiated by ALPN is routed too", async () => {
    const answer = await curl(
      SHOP,
      ports.https,
      "/h2",
      "--http2",
      "--cacert",
      certs.path("ca.crt"),
      "-o",
      "/dev/null",
      "-w",
      "%{http_version} %{http_code}",
    );
    expect(answer.stdout.trim().split("\n").at(-1)).toBe("2 200");
  });

  it("Kubernetes Ingress: HTTP on port 80 and HTTPS on 443 with the certificate of its tls secretName", async () => {
    const plain = await call(gateway.ports()[80]!, LEGACY, "/old");
    expect(plain.status).toBe(200);
    expect(JSON.parse(plain.body)).toMatchObject({ app: "productpage", path: "/old" });
    const secure = await curl(LEGACY, gateway.ports()[443]!, "/new", "--cacert", certs.path("ca.crt"));
    expect(secure.stdout.trim().split("\n").at(-1)).toBe("200");
    expect(secure.stdout).toContain('"path":"/new"');
  });

  it("httpsRedirect: plain HTTP on the redirecting server answers 301 to https", async () => {
    const answer = await call(gateway.ports()[ports.http]!, SHOP, "/products?x=1");
    expect(answer.status).toBe(301);
    expect(answer.headers.location).toBe(`https://${SHOP}/products?x=1`);
  });

  it("routes a host only on the ports whose servers list it (404 NR elsewhere), as Istio's per-port routes", async () => {
    const elsewhere = await call(gateway.ports()[ports.http]!, API, "/orders");
    expect(elsewhere.status).toBe(404);
    expect(elsewhere.headers[RESPONSE_FLAGS_HEADER]).toBe("NR");
    const ingressOnly = await call(gateway.ports()[ports.http]!, LEGACY, "/");
    expect(ingressOnly.status).toBe(404);
  });

  it("MUTUAL: refuses a client without a certificate or with one of another CA, accepts one signed by the CA", async () => {
    const anonymous = await curl(API, ports.https, "/", "--cacert", certs.path("ca.crt"));
    expect(anonymous.code).not.toBe(0);
    expect(anonymous.stdout).not.toContain("productpage");

    const stranger = await curl(
      API,
      ports.https,
      "/",
      "--cacert",
      certs.path("ca.crt"),
      "--cert",
      certs.path("stranger.crt"),
      "--key",
      certs.path("stranger.key"),
    );
    expect(stranger.code).not.toBe(0);

    const client = await curl(
      API,
      ports.https,
      "/orders",
      "--cacert",
      certs.path("ca.crt"),
      "--cert",
      certs.path("client.crt"),
      "--key",
      certs.path("client.key"),
    );
    expect(client.stdout.trim().split("\n").at(-1)).toBe("200");
    expect(client.stdout).toContain('"path":"/orders"');
  });

  it("PASSTHROUGH: the TLS stream reaches the backend's TLS server untouched (the client sees the backend's certificate)", async () => {
    const handshake = await sClient(ports.tls, DB, ["-CAfile", certs.path("backend-ca.crt")]);
    expect(handshake.stdout).toMatch(new RegExp(`subject=CN ?= ?${DB.replace(/\./g, "\\.")}`));
    expect(handshake.stdout).toContain("Verify return code: 0 (ok)");

    const answer = await curl(DB, ports.tls, "/", "--cacert", certs.path("backend-ca.crt"));
    expect(answer.stdout).toContain("answered by the backend's own TLS server");
    expect(gateway.stats().connections.passthrough).toBeGreaterThanOrEqual(2);
  });

  it("refuses an SNI no server of the port names, and a passthrough SNI without a tls route", async () => {
    const refusedBefore = gateway.stats().connections.refused;
    const unknown = await sClient(ports.https, "nope.example.test");
    expect(unknown.stdout).not.toContain("BEGIN CERTIFICATE");
    const viaCurl = await curl("nope.example.test", ports.https, "/", "-k");
    expect(viaCurl.code).not.toBe(0);
    const wrongPort = await sClient(ports.tls, SHOP);
    expect(wrongPort.stdout).not.toContain("BEGIN CERTIFICATE");
    expect(gateway.stats().connections.refused).toBeGreaterThanOrEqual(refusedBefore + 3);
  });

  it("closes a server port when its Gateway server is removed, keeping the others", async () => {
    await mesh.applyAndWait([gateway], publicGateway(false));
    await gateway.settled();
    expect(Object.keys(gateway.ports()).map(Number).sort()).toEqual(
      [80, 443, ports.http, ports.https].sort(),
    );
    const gone = await sClient(ports.tls, DB);
    expect(gone.stdout).not.toContain("BEGIN CERTIFICATE");
  });
});
