import { execFile, spawn } from "node:child_process";
import { X509Certificate } from "node:crypto";
import { once } from "node:events";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { connect, type TLSSocket } from "node:tls";
import { promisify } from "node:util";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { silentLogger } from "../../broker/logger.ts";
import type { RotationClient } from "../../identity/rotation-client.ts";
import { peerSpiffeId, tlsOptionsFrom } from "../../identity/tls-options.ts";
import { TLS_MODE_ISTIO, TLS_MODE_LABEL } from "./mesh-tls.ts";
import { type Sidecar, startSidecar } from "./sidecar.ts";
import { createTestIssuer } from "./test-identity.ts";
import { call, service, startTestApp, startTestMesh, type TestMesh, waitFor } from "./test-mesh.ts";

/**
 * PeerAuthentication and auto-mTLS with real clients: openssl s_client and curl against a sidecar's
 * inbound listener, and two sidecars talking mTLS with the caller's SPIFFE ID reaching authorization.
 */

const run = promisify(execFile);
let mesh: TestMesh;
let dir: string;
let rootPem: string;
let issue: (sa: string) => RotationClient;
let reviews: { sidecar: Sidecar; identity: RotationClient };
let productpage: { sidecar: Sidecar; identity: RotationClient };
let ratings: { sidecar: Sidecar; identity: RotationClient };
const stops: Array<() => Promise<void> | void> = [];

async function workload(app: string): Promise<{ sidecar: Sidecar; identity: RotationClient }> {
  const running = await startTestApp(app);
  stops.push(() => running.stop());
  const identity = issue(app);
  stops.push(() => identity.stop());
  const sidecar = await startSidecar({
    nc: mesh.nc,
    verifier: mesh.verifier,
    proxy: { id: `sidecar~${app}~default`, role: "sidecar", namespace: "default", labels: { app } },
    appPort: running.port,
    identity,
    log: silentLogger,
  });
  stops.push(() => sidecar.stop());
  return { sidecar, identity };
}

/** A WorkloadEntry as a Jibe sidecar registers itself: its inbound listener, marked as a mesh endpoint. */
function meshEndpoint(app: string, port: number): object {
  return {
    apiVersion: "networking.istio.io/v1",
    kind: "WorkloadEntry",
    metadata: { name: app, namespace: "default" },
    spec: { address: "127.0.0.1", labels: { app, [TLS_MODE_LABEL]: TLS_MODE_ISTIO }, ports: { http: port } },
  };
}

function peerAuthentication(mode: string, namespace = "istio-system"): object {
  return {
    apiVersion: "security.istio.io/v1",
    kind: "PeerAuthentication",
    metadata: { name: "default", namespace },
    spec: { mtls: { mode } },
  };
}

const applyEverywhere = (...documents: object[]) =>
  mesh.applyAndWait(
    [reviews, productpage, ratings].map((w) => w.sidecar),
    ...documents,
  );

/** openssl s_client with a mesh client certificate, sending one HTTP request. */
async function sClient(port: number, withClientCert = true): Promise<{ code: number | null; out: string }> {
  const creds = productpage.identity.current!;
  await writeFile(join(dir, "client.pem"), creds.certChainPem);
  await writeFile(join(dir, "client-key.pem"), creds.keyPem);
  const args = [
    "s_client",
    "-ign_eof",
    "-connect",
    `127.0.0.1:${port}`,
    "-CAfile",
    join(dir, "root.pem"),
    "-showcerts",
  ];
  if (withClientCert)
    args.push(
      "-cert",
      join(dir, "client.pem"),
      "-cert_chain",
      join(dir, "client.pem"),
      "-key",
      join(dir, "client-key.pem"),
    );
  const child = spawn("openssl", args, { stdio: ["pipe", "pipe", "pipe"] });
  let out = "";
  child.stdout.on("data", (d: Buffer) => (out += d.toString()));
  child.stderr.on("data", (d: Buffer) => (out += d.toString()));
  child.stdin.end("GET /from-openssl HTTP/1.1\r\nHost: reviews\r\nConnection: close\r\n\r\n");
  const timer = setTimeout(() => child.kill(), 5_000);
  const [code] = await once(child, "exit");
  clearTimeout(timer);
  return { code, out };
}

async function curl(url: string): Promise<{ code: number; out: string }> {
  try {
    const { stdout } = await run("curl", ["-sS", "-m", "5", url]);
    return { code: 0, out: stdout };
  } catch (error) {
    const failed = error as { code?: number; stderr?: string };
    return { code: failed.code ?? 1, out: failed.stderr ?? "" };
  }
}

beforeAll(async () => {
  mesh = await startTestMesh();
  dir = await mkdtemp(join(tmpdir(), "jibe-mtls-"));
  ({ rootPem, issue } = await createTestIssuer());
  await writeFile(join(dir, "root.pem"), rootPem);
  reviews = await workload("reviews");
  productpage = await workload("productpage");
  ratings = await workload("ratings");
  await applyEverywhere(
    service("reviews"),
    meshEndpoint("reviews", reviews.sidecar.inboundPort),
    peerAuthentication("STRICT"),
  );
}, 30_000);

afterAll(async () => {
  for (const stop of stops.reverse()) await stop();
  await mesh?.stop();
  if (dir) await rm(dir, { recursive: true, force: true });
});

describe("sidecar inbound under PeerAuthentication", () => {
  it("STRICT: openssl s_client sees the chain to the mesh root and the SPIFFE URI SAN; plaintext curl fails", async () => {
    expect(reviews.sidecar.snapshot().inboundTls?.defaultMode).toBe("STRICT");
    const { code, out } = await sClient(reviews.sidecar.inboundPort);
    expect(code).toBe(0);
    expect(out).toContain("Verify return code: 0 (ok)");
    expect(out).toMatch(/depth=2 O ?= ?cluster\.local, CN ?= ?Jibe Root CA/);
    expect(out).toContain("HTTP/1.1 200 OK");
    expect(out).toContain('"app":"reviews"');
    const leafPem = out.match(/-----BEGIN CERTIFICATE-----[\s\S]+?-----END CERTIFICATE-----/)?.[0] ?? "";
    await writeFile(join(dir, "served.pem"), leafPem);
    const san = await run("openssl", [
      "x509",
      "-in",
      join(dir, "served.pem"),
      "-noout",
      "-ext",
      "subjectAltName",
    ]);
    expect(san.stdout).toContain("URI:spiffe://cluster.local/ns/default/sa/reviews");

    const plain = await curl(`http://127.0.0.1:${reviews.sidecar.inboundPort}/`);
    expect(plain.code).not.toBe(0);
    // TLS without a client certificate is refused too.
    const noCert = await sClient(reviews.sidecar.inboundPort, false);
    expect(noCert.out).not.toContain("HTTP/1.1 200 OK");
    expect(reviews.sidecar.stats().mtls.handshakeFailures).toBeGreaterThanOrEqual(2);
  });

  it("PERMISSIVE: plaintext and mTLS on the same port; DISABLE: plaintext only", async () => {
    await applyEverywhere(peerAuthentication("PERMISSIVE", "default"));
    const plain = await curl(`http://127.0.0.1:${reviews.sidecar.inboundPort}/plain`);
    expect(plain).toMatchObject({ code: 0, out: expect.stringContaining('"path":"/plain"') });
    const tls = await sClient(reviews.sidecar.inboundPort);
    expect(tls.out).toContain("Verify return code: 0 (ok)");
    expect(tls.out).toContain('"path":"/from-openssl"');

    await applyEverywhere(peerAuthentication("DISABLE", "default"));
    expect((await curl(`http://127.0.0.1:${reviews.sidecar.inboundPort}/x`)).code).toBe(0);
    expect((await sClient(reviews.sidecar.inboundPort)).out).not.toContain("HTTP/1.1 200 OK");
    await mesh.remove("PeerAuthentication", "default", "default");
  });
});

describe("sidecar to sidecar mTLS", () => {
  const onlyProductpage = {
    apiVersion: "security.istio.io/v1",
    kind: "AuthorizationPolicy",
    metadata: { name: "reviews-callers", namespace: "default" },
    spec: {
      selector: { matchLabels: { app: "reviews" } },
      rules: [{ from: [{ source: { principals: ["cluster.local/ns/default/sa/productpage"] } }] }],
    },
  };

  it("the server sees the caller's SPIFFE ID: an ALLOW on principals admits productpage, denies ratings", async () => {
    await applyEverywhere(peerAuthentication("STRICT"), onlyProductpage);
    const before = reviews.sidecar.stats().mtls.mtls;
    const allowed = await call(productpage.sidecar.outboundPort, "reviews:9080", "/allowed");
    expect(allowed.status).toBe(200);
    expect(allowed.body).toContain('"path":"/allowed"');
    expect(reviews.sidecar.stats().mtls.mtls).toBeGreaterThan(before);
    const denied = await call(ratings.sidecar.outboundPort, "reviews:9080", "/denied");
    expect(denied.status).toBe(403);
    expect(denied.body).toContain("RBAC: access denied");
  });

  it("plaintext callers have no principal (PERMISSIVE + ALLOW on principals denies them)", async () => {
    await applyEverywhere(peerAuthentication("PERMISSIVE"), onlyProductpage);
    const plain = await call(reviews.sidecar.inboundPort, "reviews:9080", "/plain");
    expect(plain.status).toBe(403);
    await applyEverywhere(peerAuthentication("STRICT"));
    await mesh.remove("AuthorizationPolicy", "reviews-callers", "default");
  });

  it("a DestinationRule with tls.mode DISABLE sends plaintext (refused by a STRICT server)", async () => {
    const disable = {
      apiVersion: "networking.istio.io/v1",
      kind: "DestinationRule",
      metadata: { name: "reviews-plain", namespace: "default" },
      spec: { host: "reviews", trafficPolicy: { tls: { mode: "DISABLE" } } },
    };
    await applyEverywhere(disable);
    const refused = await call(productpage.sidecar.outboundPort, "reviews:9080", "/");
    expect(refused.status).toBe(503);
    await mesh.remove("DestinationRule", "reviews-plain", "default");
    await waitFor(
      () =>
        productpage.sidecar.snapshot().clusters["outbound|9080||reviews.default.svc.cluster.local"]
          ?.tlsMode === undefined,
    );
    expect((await call(productpage.sidecar.outboundPort, "reviews:9080", "/")).status).toBe(200);
  });

  it("rotation: new connections get the new certificate, open ones keep working", async () => {
    const creds = productpage.identity.current!;
    const served = async () => {
      const { out } = await sClient(reviews.sidecar.inboundPort);
      const leaf = out.match(/-----BEGIN CERTIFICATE-----[\s\S]+?-----END CERTIFICATE-----/)?.[0] ?? "";
      return new X509Certificate(leaf);
    };
    const ask = async (socket: TLSSocket, path: string) => {
      socket.write(`GET ${path} HTTP/1.1\r\nHost: reviews\r\n\r\n`);
      const [chunk] = (await once(socket, "data")) as [Buffer];
      return chunk.toString();
    };
    const open = connect({
      ...tlsOptionsFrom(creds),
      host: "127.0.0.1",
      port: reviews.sidecar.inboundPort,
      checkServerIdentity: () => undefined,
    });
    await once(open, "secureConnect");
    expect(await ask(open, "/before")).toContain("200 OK");
    const before = await served();
    expect(peerSpiffeId(before)).toBe("spiffe://cluster.local/ns/default/sa/reviews");

    await reviews.identity.rotateNow();
    const after = await served();
    expect(after.serialNumber).not.toBe(before.serialNumber);
    expect(BigInt(`0x${after.serialNumber}`)).toBe(
      BigInt(`0x${reviews.identity.current!.serial.replace(/:/g, "")}`),
    );
    expect(peerSpiffeId(after)).toBe("spiffe://cluster.local/ns/default/sa/reviews");
    expect(await ask(open, "/after-rotation")).toContain("200 OK");
    open.destroy();
    expect((await call(productpage.sidecar.outboundPort, "reviews:9080", "/")).status).toBe(200);
  });
});
