import { connect } from "node:tls";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { silentLogger } from "../../broker/logger.ts";
import { type CertificateAuthority, loadCertificateAuthority } from "../../identity/certificate-authority.ts";
import { generateCaMaterial } from "../../identity/generate-ca.ts";
import { createCertificateIssuer } from "../../identity/issuer.ts";
import { exportPrivateKeyPem, generateEcKeyPair } from "../../identity/key-pair.ts";
import { type RotationClient, startRotationClient } from "../../identity/rotation-client.ts";
import { signWorkloadCertificate } from "../../identity/sign-workload-certificate.ts";
import { type Sidecar, startSidecar } from "./sidecar.ts";
import { startTestApp, startTestMesh, type TestApp, type TestMesh } from "./test-mesh.ts";

/**
 * What a STRICT sidecar refuses at the handshake, with real TLS clients presenting crafted
 * certificates: a foreign CA's, an expired one, one of another trust domain signed by the mesh CA
 * itself, none at all. A valid mesh certificate gets through (the control case).
 */

let mesh: TestMesh;
let meshCa: CertificateAuthority;
let foreignCa: CertificateAuthority;
let sidecar: Sidecar;
let app: TestApp;
let identity: RotationClient;
const stops: Array<() => Promise<void> | void> = [];

async function newCa(trustDomain = "cluster.local"): Promise<CertificateAuthority> {
  const now = Date.now();
  const { material } = await generateCaMaterial({ trustDomain, now, crypto });
  return loadCertificateAuthority(material, { trustDomain, now, crypto });
}

/** A workload certificate signed directly (bypassing the issuer's checks), as an attacker or a broken CA could. */
async function craft(ca: CertificateAuthority, spiffeId: string, notBefore: number, notAfter: number) {
  const keys = await generateEcKeyPair(crypto);
  const spki = new Uint8Array(await crypto.subtle.exportKey("spki", keys.publicKey));
  const signed = await signWorkloadCertificate({
    ca,
    spiffeId,
    subjectPublicKeyInfo: spki,
    notBefore: new Date(notBefore),
    notAfter: new Date(notAfter),
    crypto,
  });
  return { cert: `${signed.pem}${ca.chainPem}`, key: await exportPrivateKeyPem(crypto, keys.privateKey) };
}

/** Connects with a client certificate and sends one request; resolves to the response head or the failure. */
async function request(client?: { cert: string; key: string }): Promise<string> {
  const socket = connect({
    host: "127.0.0.1",
    port: sidecar.inboundPort,
    ca: meshCa.rootsPem,
    checkServerIdentity: () => undefined,
    ...(client ?? {}),
  });
  let received = "";
  socket.on("data", (chunk: Buffer) => (received += chunk.toString()));
  socket.on("error", (error) => (received += `error: ${error.message}`));
  socket.once("secureConnect", () =>
    socket.write("GET /x HTTP/1.1\r\nHost: app\r\nConnection: close\r\n\r\n"),
  );
  // Not events.once: it would reject on the socket's "error", which is the expected outcome here.
  await new Promise((resolve) => socket.once("close", resolve));
  return received;
}

beforeAll(async () => {
  mesh = await startTestMesh();
  meshCa = await newCa();
  foreignCa = await newCa();
  app = await startTestApp("app");
  stops.push(() => app.stop());
  const issuer = createCertificateIssuer({
    ca: meshCa,
    crypto,
    authenticator: {
      authenticate: async () => ({
        ok: true as const,
        grant: { trustDomain: "cluster.local", namespace: "default", serviceAccount: "app" },
      }),
    },
  });
  identity = startRotationClient({
    spiffeId: "spiffe://cluster.local/ns/default/sa/app",
    crypto,
    fetch: (csr) => issuer.issue({ v: 1, csr, credential: { type: "join-token", token: "app" } }),
  });
  stops.push(() => identity.stop());
  sidecar = await startSidecar({
    nc: mesh.nc,
    verifier: mesh.verifier,
    proxy: { id: "sidecar~app~default", role: "sidecar", namespace: "default", labels: { app: "app" } },
    appPort: app.port,
    identity,
    log: silentLogger,
  });
  stops.push(() => sidecar.stop());
  await mesh.applyAndWait([sidecar], {
    apiVersion: "security.istio.io/v1",
    kind: "PeerAuthentication",
    metadata: { name: "default", namespace: "istio-system" },
    spec: { mtls: { mode: "STRICT" } },
  });
}, 30_000);

afterAll(async () => {
  for (const stop of stops.reverse()) await stop();
  await mesh?.stop();
});

describe("a STRICT sidecar's handshake", () => {
  const hour = 3_600_000;

  it("lets a valid mesh certificate through (control case)", async () => {
    const now = Date.now();
    const valid = await craft(meshCa, "spiffe://cluster.local/ns/default/sa/caller", now - hour, now + hour);
    expect(await request(valid)).toContain("HTTP/1.1 200 OK");
  });

  it("refuses a certificate from a foreign CA, an expired one, one of another trust domain, and none", async () => {
    const now = Date.now();
    const before = { requests: app.requests, failures: sidecar.stats().mtls.handshakeFailures };
    const attempts = {
      foreign: await craft(foreignCa, "spiffe://cluster.local/ns/default/sa/caller", now - hour, now + hour),
      expired: await craft(meshCa, "spiffe://cluster.local/ns/default/sa/caller", now - 2 * hour, now - hour),
      otherTrustDomain: await craft(
        meshCa,
        "spiffe://evil.example/ns/default/sa/caller",
        now - hour,
        now + hour,
      ),
    };
    for (const [what, client] of Object.entries(attempts)) {
      expect({ what, answer: await request(client) }).not.toMatchObject({
        answer: expect.stringContaining("200 OK"),
      });
    }
    expect(await request()).not.toContain("200 OK");
    expect(app.requests).toBe(before.requests);
    expect(sidecar.stats().mtls.handshakeFailures).toBe(before.failures + 4);
  });
});
