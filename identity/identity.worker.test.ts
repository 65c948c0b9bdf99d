import { describe, expect, it } from "vitest";
import { createSigner, createVerifier, generateSigningKey } from "../broker/envelope.ts";
import { createAuthenticator } from "./authenticate.ts";
import { loadCertificateAuthority } from "./certificate-authority.ts";
import { createWorkloadCsr } from "./create-csr.ts";
import { generateCaMaterial } from "./generate-ca.ts";
import { createCertificateIssuer } from "./issuer.ts";
import { createJoinToken } from "./join-token.ts";
import { verifyWorkloadCertificate } from "./verify-workload-certificate.ts";

// The identity core claims Web Crypto only: prove it inside workerd (an edge worker can verify
// peers and make CSRs; a CA could run there too).
describe("identity core in workerd", () => {
  it("creates a CA, issues a workload certificate for a CSR and verifies the chain", async () => {
    const now = Date.now();
    const { material } = await generateCaMaterial({ trustDomain: "cluster.local", now, crypto });
    const ca = await loadCertificateAuthority(material, { trustDomain: "cluster.local", now, crypto });
    const { privateJwk, publicJwks } = await generateSigningKey();
    const grant = { trustDomain: "cluster.local", namespace: "edge", serviceAccount: "worker" };
    const token = await createJoinToken(await createSigner(privateJwk), grant, { now });
    const issuer = createCertificateIssuer({
      ca,
      crypto,
      authenticator: createAuthenticator({ joinTokens: await createVerifier(publicJwks) }),
    });
    const { csrPem } = await createWorkloadCsr({
      spiffeId: "spiffe://cluster.local/ns/edge/sa/worker",
      crypto,
    });
    const reply = await issuer.issue({ v: 1, csr: csrPem, credential: { type: "join-token", token } });
    if (!reply.ok) throw new Error(`${reply.code}: ${reply.message}`);
    const peer = await verifyWorkloadCertificate({
      chainPem: reply.certChainPem,
      rootsPem: reply.rootsPem,
      trustDomain: "cluster.local",
      now,
      crypto,
    });
    expect(peer).toMatchObject({ ok: true, spiffeId: "spiffe://cluster.local/ns/edge/sa/worker" });
  });
});
