import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { silentLogger } from "../../broker/logger.ts";
import { createAuthenticator } from "../../identity/authenticate.ts";
import { type CaRotation, createCaRotation } from "../../identity/ca-rotation.ts";
import { type CaService, serveCertificateRequests } from "../../identity/ca-service.ts";
import { type CertificateAuthority, loadCertificateAuthority } from "../../identity/certificate-authority.ts";
import { generateCaMaterial } from "../../identity/generate-ca.ts";
import { createCertificateIssuer } from "../../identity/issuer.ts";
import { createJoinToken } from "../../identity/join-token.ts";
import { publishTrustBundle } from "../../identity/trust-bundle-store.ts";
import { startWorkloadIdentity, type WorkloadIdentity } from "../../identity/workload-identity.ts";
import { RESPONSE_FLAGS_HEADER } from "../engine/index.ts";
import { TLS_MODE_ISTIO, TLS_MODE_LABEL } from "./mesh-tls.ts";
import { type Sidecar, startSidecar } from "./sidecar.ts";
import { call, service, startTestApp, startTestMesh, type TestMesh, waitFor } from "./test-mesh.ts";

/**
 * Mesh certificates over the bus (CSR request/reply with join tokens, trust bundle in KV) under
 * STRICT: DestinationRule ISTIO_MUTUAL `subjectAltNames`, and a steady request stream through two
 * sidecars across several leaf rotations and a root rotation with overlap.
 */

const TRUST_DOMAIN = "cluster.local";
let mesh: TestMesh;
let rotation: CaRotation;
let caService: CaService;
let reviews: { sidecar: Sidecar; identity: WorkloadIdentity };
let productpage: { sidecar: Sidecar; identity: WorkloadIdentity };
const stops: Array<() => Promise<void> | void> = [];

async function newCa(): Promise<CertificateAuthority> {
  const now = Date.now();
  const { material } = await generateCaMaterial({ trustDomain: TRUST_DOMAIN, now, crypto });
  return loadCertificateAuthority(material, { trustDomain: TRUST_DOMAIN, now, crypto });
}

async function workload(app: string): Promise<{ sidecar: Sidecar; identity: WorkloadIdentity }> {
  const running = await startTestApp(app);
  stops.push(() => running.stop());
  const id = { trustDomain: TRUST_DOMAIN, namespace: "default", serviceAccount: app };
  const token = await createJoinToken(mesh.signer, id, { now: Date.now() });
  const identity = await startWorkloadIdentity({
    nc: mesh.nc,
    verifier: mesh.verifier,
    crypto,
    id,
    credential: { type: "join-token", token },
    // A few seconds: several renewals during the test (Istio's SECRET_TTL).
    ttlSeconds: 3,
    retryInitialMs: 50,
  });
  stops.push(() => identity.stop());
  const sidecar = await startSidecar({
    nc: mesh.nc,
    verifier: mesh.verifier,
    proxy: { id: `sidecar~${app}~default`, role: "sidecar", namespace: "default", labels: { app } },
    appPort: running.port,
    identity: identity.client,
    log: silentLogger,
  });
  stops.push(() => sidecar.stop());
  return { sidecar, identity };
}

function destinationRule(trafficPolicy: object): object {
  return {
    apiVersion: "networking.istio.io/v1",
    kind: "DestinationRule",
    metadata: { name: "reviews", namespace: "default" },
    spec: { host: "reviews", trafficPolicy },
  };
}

const applyEverywhere = (...documents: object[]) =>
  mesh.applyAndWait([reviews.sidecar, productpage.sidecar], ...documents);
const publish = () => publishTrustBundle(mesh.nc, mesh.signer, rotation.bundle());

beforeAll(async () => {
  mesh = await startTestMesh();
  rotation = createCaRotation(await newCa());
  const issuer = createCertificateIssuer({
    ca: rotation.signingCa,
    authenticator: createAuthenticator({ joinTokens: mesh.verifier }),
    crypto,
  });
  caService = serveCertificateRequests({ nc: mesh.nc, issuer });
  stops.push(() => caService.stop());
  await publish();
  reviews = await workload("reviews");
  productpage = await workload("productpage");
  await applyEverywhere(
    service("reviews"),
    {
      apiVersion: "networking.istio.io/v1",
      kind: "WorkloadEntry",
      metadata: { name: "reviews", namespace: "default" },
      spec: {
        address: "127.0.0.1",
        labels: { app: "reviews", [TLS_MODE_LABEL]: TLS_MODE_ISTIO },
        ports: { http: reviews.sidecar.inboundPort },
      },
    },
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

describe("DestinationRule tls ISTIO_MUTUAL with subjectAltNames", () => {
  it("connects when the server's SPIFFE ID is listed, refuses (503 UF) when it is not", async () => {
    await applyEverywhere(
      destinationRule({
        tls: { mode: "ISTIO_MUTUAL", subjectAltNames: ["spiffe://cluster.local/ns/default/sa/reviews"] },
      }),
    );
    expect((await call(productpage.sidecar.outboundPort, "reviews:9080", "/listed")).status).toBe(200);
    // The server's metrics say the request came over mutual TLS (Istio's connection_security_policy).
    await waitFor(() => reviews.sidecar.stats().inbound.requests > 0);
    expect(await reviews.sidecar.metrics()).toMatch(
      /istio_requests_total\{[^}]*reporter="destination"[^}]*connection_security_policy="mutual_tls"/,
    );
    // ... and name both ends by their SPIFFE IDs, as Istio's destination-side metrics do.
    const served = (await reviews.sidecar.metrics())
      .split("\n")
      .find((line) => line.startsWith("istio_requests_total{") && line.includes('reporter="destination"'));
    expect(served).toContain('source_principal="spiffe://cluster.local/ns/default/sa/productpage"');
    expect(served).toContain('destination_principal="spiffe://cluster.local/ns/default/sa/reviews"');
    // The client's side names them too, from the mTLS connection it made.
    const sent = (await productpage.sidecar.metrics())
      .split("\n")
      .find((line) => line.startsWith("istio_requests_total{") && line.includes('reporter="source"'));
    expect(sent).toContain('source_principal="spiffe://cluster.local/ns/default/sa/productpage"');
    expect(sent).toContain('destination_principal="spiffe://cluster.local/ns/default/sa/reviews"');

    await applyEverywhere(
      destinationRule({
        tls: { mode: "ISTIO_MUTUAL", subjectAltNames: ["spiffe://cluster.local/ns/default/sa/ratings"] },
      }),
    );
    const refused = await call(productpage.sidecar.outboundPort, "reviews:9080", "/unlisted");
    expect(refused.status).toBe(503);
    expect(String(refused.headers[RESPONSE_FLAGS_HEADER]).split(",")).toContain("UF");
  });
});

describe("rotation under STRICT", () => {
  it("keeps a steady request stream without a failure across leaf rotations and a root rotation", async () => {
    // One request per upstream connection: every request is a new mTLS handshake.
    await applyEverywhere(destinationRule({ connectionPool: { http: { maxRequestsPerConnection: 1 } } }));
    const results = { ok: 0, failed: [] as string[] };
    let streaming = true;
    const stream = async (lane: number) => {
      for (let i = 0; streaming; i++) {
        try {
          const answer = await call(productpage.sidecar.outboundPort, "reviews:9080", `/s${lane}-${i}`);
          if (answer.status === 200) results.ok++;
          else results.failed.push(`${answer.status} ${answer.body}`);
        } catch (error) {
          results.failed.push(String(error));
        }
        await new Promise((resolve) => setTimeout(resolve, 5));
      }
    };
    const lanes = [stream(0), stream(1)];
    const clients = [reviews.identity.client, productpage.identity.client];
    const rotatedTwice = (from: number[]) => () =>
      clients.every((client, i) => client.stats.rotations >= (from[i] ?? 0) + 2);

    await waitFor(rotatedTwice([0, 0]), 20_000, "two leaf rotations");

    const next = await newCa();
    const nextRoot = next.roots[0]!.toString("pem");
    const nextIntermediate = next.chain[0]!.toString("pem");
    const oldRoot = rotation.bundle().rootsPem;
    // 1. Trust both roots everywhere before anything is signed by the new CA.
    rotation.trust(next);
    await publish();
    await waitFor(
      () => clients.every((client) => client.current?.rootsPem.includes(nextRoot)),
      10_000,
      "both roots in every proxy",
    );
    // 2. Sign with the new intermediate; workloads move onto it at their next renewal.
    rotation.signWith(next);
    await waitFor(
      () => clients.every((client) => client.current?.certChainPem.includes(nextIntermediate)),
      20_000,
      "every workload on the new CA",
    );
    // 3. Retire the old root.
    rotation.retire();
    await publish();
    await waitFor(
      () => clients.every((client) => !client.current?.rootsPem.includes(oldRoot.trim())),
      10_000,
      "old root removed everywhere",
    );
    const after = clients.map((client) => client.stats.rotations);
    await waitFor(rotatedTwice(after), 20_000, "two more leaf rotations on the new root");

    streaming = false;
    await Promise.all(lanes);
    expect(results.failed).toEqual([]);
    expect(results.ok).toBeGreaterThan(20);
    expect(reviews.sidecar.stats().mtls.handshakeFailures).toBe(0);
    expect(caService.stats.refused).toEqual({});
  }, 90_000);
});
