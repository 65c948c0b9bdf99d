import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createVerifier } from "../../broker/envelope.ts";
import { silentLogger } from "../../broker/logger.ts";
import { loadCertificateAuthority } from "../../identity/certificate-authority.ts";
import { generateCaMaterial } from "../../identity/generate-ca.ts";
import { createCertificateIssuer } from "../../identity/issuer.ts";
import { type RotationClient, startRotationClient } from "../../identity/rotation-client.ts";
import { TLS_MODE_ISTIO, TLS_MODE_LABEL } from "../../workers/sidecar/mesh-tls.ts";
import { type Sidecar, startSidecar } from "../../workers/sidecar/sidecar.ts";
import { call, startTestApp, waitFor } from "../../workers/sidecar/test-mesh.ts";
import { type AdminFixture, startAdminFixture } from "../admin/test-fixture.ts";
import { runCli } from "./run-cli.ts";

/**
 * `jibe mtls check` and `jibe proxy-config secret` against a real control plane and real sidecars:
 * the answers come from what the proxies report on the bus.
 */

let fx: AdminFixture;
let reviews: { sidecar: Sidecar; identity?: RotationClient };
let productpage: { sidecar: Sidecar; identity?: RotationClient };
let legacy: { sidecar: Sidecar };
const stops: Array<() => Promise<void> | void> = [];

async function jibe(...args: string[]): Promise<{ code: number; out: string }> {
  let out = "";
  const io = {
    env: {},
    stdout: { write: (text: string) => (out += text) },
    stderr: { write: (text: string) => (out += text) },
    readStdin: async () => "",
  };
  const code = await runCli(["--admin-url", fx.cp.adminUrl, "--token", fx.cp.token, ...args], io);
  return { code, out };
}

beforeAll(async () => {
  fx = await startAdminFixture();
  const verifier = await createVerifier(fx.cp.trustJwks);
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
  const workload = async (app: string, withIdentity: boolean) => {
    const running = await startTestApp(app);
    stops.push(() => running.stop());
    const identity = withIdentity
      ? startRotationClient({
          spiffeId: `spiffe://cluster.local/ns/default/sa/${app}`,
          crypto,
          fetch: (csr) => issuer.issue({ v: 1, csr, credential: { type: "join-token", token: app } }),
        })
      : undefined;
    if (identity) stops.push(() => identity.stop());
    const sidecar = await startSidecar({
      nc: fx.nc,
      verifier,
      proxy: { id: `sidecar~${app}~default`, role: "sidecar", namespace: "default", labels: { app } },
      appPort: running.port,
      ...(identity ? { identity } : {}),
      log: silentLogger,
    });
    stops.push(() => sidecar.stop());
    return { sidecar, ...(identity ? { identity } : {}) };
  };
  reviews = await workload("reviews", true);
  productpage = await workload("productpage", true);
  legacy = await workload("legacy", false);
  const response = await fx.api("/api/v1/apply", {
    method: "POST",
    type: "application/json",
    body: JSON.stringify([
      {
        apiVersion: "v1",
        kind: "Service",
        metadata: { name: "reviews", namespace: "default" },
        spec: { selector: { app: "reviews" }, ports: [{ name: "http", port: 9080 }] },
      },
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
        metadata: { name: "default", namespace: "default" },
        spec: { mtls: { mode: "PERMISSIVE" } },
      },
    ]),
  });
  expect(response.status).toBe(200);
  const { revision } = (await response.json()) as { revision?: number };
  const sidecars = [reviews.sidecar, productpage.sidecar, legacy.sidecar];
  await waitFor(() =>
    sidecars.every((s) =>
      revision === undefined
        ? s.snapshot().clusters["outbound|9080||reviews.default.svc.cluster.local"] !== undefined &&
          s.snapshot().inboundTls !== undefined
        : s.snapshot().revision >= revision,
    ),
  );
}, 30_000);

afterAll(async () => {
  for (const stop of stops.reverse()) await stop();
  await fx?.stop();
});

describe("jibe mtls check", () => {
  it("answers yes for a sidecar-to-sidecar call (auto-mTLS), naming both identities", async () => {
    expect((await call(productpage.sidecar.outboundPort, "reviews:9080", "/")).status).toBe(200);
    const { code, out } = await jibe("mtls", "check", "productpage", "reviews");
    expect(out).toContain("mTLS: yes: all 1 observed requests used mutual TLS");
    expect(out).toContain("server identity seen by the client: spiffe://cluster.local/ns/default/sa/reviews");
    expect(out).toContain(
      "client identity seen by the server: spiffe://cluster.local/ns/default/sa/productpage (1 requests)",
    );
    expect(out).toContain("server PeerAuthentication: PERMISSIVE");
    expect(code).toBe(0);
  });

  it("answers no (exit 3) for a client without a mesh identity, which PERMISSIVE lets in as plaintext", async () => {
    expect((await call(legacy.sidecar.outboundPort, "reviews:9080", "/")).status).toBe(200);
    const { code, out } = await jibe("mtls", "check", "legacy", "reviews");
    expect(out).toContain("NO: 1 of 1 observed requests did not use mutual TLS (1 plaintext");
    expect(code).toBe(3);
  });

  it("says so (exit 4) when no traffic between the two was observed, and names unknown workloads", async () => {
    const unseen = await jibe("mtls", "check", "reviews", "productpage");
    expect(unseen.out).toContain("unknown: no requests");
    expect(unseen.code).toBe(4);
    const missing = await jibe("mtls", "check", "productpage", "nosuch");
    expect(missing.code).not.toBe(0);
    expect(missing.out).toContain("no running proxy matches nosuch");
  });
});

describe("jibe proxy-config secret", () => {
  it("shows the workload certificate chain and root with serials and validity, as the proxy holds them", async () => {
    const creds = reviews.identity!.current!;
    const { code, out } = await jibe("proxy-config", "secret", "reviews");
    expect(code).toBe(0);
    expect(out).toContain("sidecar~reviews~default  spiffe://cluster.local/ns/default/sa/reviews");
    expect(out).toMatch(/default\s+Cert Chain\s+ACTIVE\s+true/);
    expect(out).toMatch(/default\s+Intermediate\s+ACTIVE\s+true/);
    expect(out).toMatch(/ROOTCA\s+CA\s+ACTIVE\s+true/);
    expect(out.replace(/:/g, "").toLowerCase()).toContain(creds.serial.replace(/:/g, "").toLowerCase());
    expect(out).toContain(new Date(creds.notAfter).toISOString());

    const json = JSON.parse((await jibe("proxy-config", "secret", "reviews", "-o", "json")).out);
    expect(json[0].chain[0]).toMatchObject({ role: "workload", spiffeId: creds.spiffeId, state: "valid" });
    const none = await jibe("proxy-config", "secret", "legacy");
    expect(none.out).toContain("(no workload certificate)");
  });
});
