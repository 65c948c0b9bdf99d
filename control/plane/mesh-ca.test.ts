import { mkdir, mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { NatsConnection } from "@nats-io/nats-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { silentLogger } from "../../broker/logger.ts";
import { connectNats } from "../../broker/nats-connection.ts";
import { loadOrCreateSigningKey } from "../../broker/signing-key-file.ts";
import { createWorkloadCsr } from "../../identity/create-csr.ts";
import type { CsrReply } from "../../identity/csr-wire.ts";
import { generateCaMaterial } from "../../identity/generate-ca.ts";
import { createJoinToken } from "../../identity/join-token.ts";
import { requestCertificate } from "../../identity/request-certificate.ts";
import { verifyWorkloadCertificate } from "../../identity/verify-workload-certificate.ts";
import { type ApiServerDouble, startApiServerDouble } from "../../test/k8s-apiserver/api-server.ts";
import { useTestNats } from "../../test/support/nats.ts";
import { waitFor } from "../../test/support/wait-for.ts";
import { runStandaloneControlPlane } from "./standalone.ts";

/**
 * The control plane process as the Deployment runs it (`node control/plane/main.ts`), on a cluster
 * (here the API-server double, via KUBECONFIG) and a real nats-server: its mesh CA takes CSRs on the
 * bus, checking projected service-account tokens (audience `jibe`) with TokenReview, and join tokens.
 */

const nats = useTestNats();
let api: ApiServerDouble;
let scratch: string;
let home: string;
let stop: (() => Promise<void>) | undefined;
let nc: NatsConnection;

async function ask(
  spiffeId: string,
  credential: { type: "kubernetes" | "join-token"; token: string },
): Promise<CsrReply> {
  const { csrPem } = await createWorkloadCsr({ spiffeId, crypto });
  return requestCertificate(nc, { v: 1, csr: csrPem, credential });
}

beforeAll(async () => {
  api = await startApiServerDouble({ version: "v1.30.1" });
  api.tokens.registerServiceAccountToken("reviews-token", "shop", "reviews", ["jibe"]);
  api.tokens.registerServiceAccountToken("reviews-apiserver-token", "shop", "reviews", ["kubernetes"]);
  scratch = await mkdtemp(join(tmpdir(), "jibe-cp-ca-"));
  home = join(scratch, "home");
  const kubeconfig = join(scratch, "kubeconfig");
  await writeFile(
    kubeconfig,
    `apiVersion: v1
kind: Config
clusters: [{ name: double, cluster: { server: "${api.url}", insecure-skip-tls-verify: true } }]
users: [{ name: cp, user: {} }]
contexts: [{ name: double, context: { cluster: double, user: cp } }]
current-context: double
`,
  );
  stop = await runStandaloneControlPlane(
    {
      JIBE_NATS_URL: nats().url,
      JIBE_HOME: home,
      JIBE_ADMIN_URL: "http://127.0.0.1:0",
      KUBECONFIG: kubeconfig,
    },
    silentLogger,
  );
  nc = await connectNats(nats().url);
});

afterAll(async () => {
  await nc?.close();
  await stop?.();
  await api?.stop();
  if (scratch) await rm(scratch, { recursive: true, force: true });
});

describe("the standalone control plane's mesh CA", () => {
  it("issues the SPIFFE ID of a service-account token TokenReview vouches for, chaining to the CA in $JIBE_HOME/ca", async () => {
    const reply = await ask("spiffe://cluster.local/ns/shop/sa/reviews", {
      type: "kubernetes",
      token: "reviews-token",
    });
    expect(reply).toMatchObject({ ok: true, spiffeId: "spiffe://cluster.local/ns/shop/sa/reviews" });
    if (!reply.ok) return;
    const rootsPem = await readFile(join(home, "ca", "root-cert.pem"), "utf8");
    const verified = await verifyWorkloadCertificate({
      chainPem: reply.certChainPem,
      rootsPem,
      trustDomain: "cluster.local",
      now: Date.now(),
      crypto,
    });
    expect(verified.ok).toBe(true);
  });

  it("refuses a token for another service account, one for another audience, and an unknown one", async () => {
    const kubernetes = (token: string) => ({ type: "kubernetes" as const, token });
    expect(await ask("spiffe://cluster.local/ns/shop/sa/ratings", kubernetes("reviews-token"))).toMatchObject(
      { ok: false, code: "identity-not-granted" },
    );
    expect(
      await ask("spiffe://cluster.local/ns/shop/sa/reviews", kubernetes("reviews-apiserver-token")),
    ).toMatchObject({ ok: false, code: "token-invalid" });
    expect(await ask("spiffe://cluster.local/ns/shop/sa/reviews", kubernetes("forged"))).toMatchObject({
      ok: false,
      code: "token-invalid",
    });
  });

  it("accepts join tokens signed by the control plane's key as well (VMs, edge workers)", async () => {
    const { signer } = await loadOrCreateSigningKey(home);
    const grant = { trustDomain: "cluster.local", namespace: "vms", serviceAccount: "billing" };
    const token = await createJoinToken(signer, grant, { now: Date.now() });
    expect(
      await ask("spiffe://cluster.local/ns/vms/sa/billing", { type: "join-token", token }),
    ).toMatchObject({ ok: true, spiffeId: "spiffe://cluster.local/ns/vms/sa/billing" });
    expect(await ask("spiffe://cluster.local/ns/vms/sa/other", { type: "join-token", token })).toMatchObject({
      ok: false,
      code: "identity-not-granted",
    });
  });
});

describe("the standalone control plane with a plug-in CA (JIBE_CA_DIR)", () => {
  it("signs with the operator's CA and leaves its rotation to the operator's PKI", async () => {
    const caDir = join(scratch, "cacerts");
    await mkdir(caDir);
    const { material } = await generateCaMaterial({ trustDomain: "cluster.local", now: Date.now(), crypto });
    await writeFile(join(caDir, "ca-cert.pem"), material.caCertPem);
    await writeFile(join(caDir, "ca-key.pem"), material.caKeyPem);
    await writeFile(join(caDir, "cert-chain.pem"), material.certChainPem);
    await writeFile(join(caDir, "root-cert.pem"), material.rootCertPem);
    const pluginHome = join(scratch, "plugin-home");
    const stopPlugin = await runStandaloneControlPlane(
      {
        JIBE_NATS_URL: nats().url,
        JIBE_HOME: pluginHome,
        JIBE_ADMIN_URL: "http://127.0.0.1:0",
        JIBE_CA_DIR: caDir,
      },
      silentLogger,
    );
    try {
      const { signer } = await loadOrCreateSigningKey(pluginHome);
      const grant = { trustDomain: "cluster.local", namespace: "vms", serviceAccount: "billing" };
      const token = await createJoinToken(signer, grant, { now: Date.now() });
      // Two CAs now answer on the bus (queue group); ask until the plug-in one does.
      const reply = await waitFor(
        async () => {
          const answer = await ask("spiffe://cluster.local/ns/vms/sa/billing", { type: "join-token", token });
          return answer.ok && answer.rootsPem === material.rootCertPem ? answer : undefined;
        },
        { what: "a certificate from the plug-in CA" },
      );
      const verified = await verifyWorkloadCertificate({
        chainPem: reply.certChainPem,
        rootsPem: material.rootCertPem,
        trustDomain: "cluster.local",
        now: Date.now(),
        crypto,
      });
      expect(verified.ok).toBe(true);
      const adminUrl = (await readFile(join(pluginHome, "admin-url"), "utf8")).trim();
      const adminToken = (await readFile(join(pluginHome, "admin-token"), "utf8")).trim();
      const rotate = await fetch(`${adminUrl}/api/v1/ca/rotate`, {
        method: "POST",
        headers: { authorization: `Bearer ${adminToken}` },
      });
      expect(rotate.status).toBe(409);
      expect(((await rotate.json()) as { error: { message: string } }).error.message).toContain(
        "Rotate it in your PKI",
      );
    } finally {
      await stopPlugin();
    }
  });
});
