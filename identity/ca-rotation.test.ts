import { describe, expect, it } from "vitest";
import { createCaRotation } from "./ca-rotation.ts";
import { loadCertificateAuthority } from "./certificate-authority.ts";
import { createWorkloadCsr } from "./create-csr.ts";
import { generateCaMaterial } from "./generate-ca.ts";
import { createCertificateIssuer } from "./issuer.ts";
import { verifyWorkloadCertificate } from "./verify-workload-certificate.ts";

async function newCa(trustDomain = "cluster.local") {
  const now = Date.now();
  const { material } = await generateCaMaterial({ trustDomain, now, crypto });
  return loadCertificateAuthority(material, { trustDomain, now, crypto });
}

const ID = "spiffe://cluster.local/ns/default/sa/reviews";

async function issueWith(rotation: ReturnType<typeof createCaRotation>) {
  const issuer = createCertificateIssuer({
    ca: rotation.signingCa,
    crypto,
    authenticator: {
      authenticate: async () => ({
        ok: true as const,
        grant: { trustDomain: "cluster.local", namespace: "default", serviceAccount: "reviews" },
      }),
    },
  });
  const { csrPem } = await createWorkloadCsr({ spiffeId: ID, crypto });
  const reply = await issuer.issue({ v: 1, csr: csrPem, credential: { type: "join-token", token: "t" } });
  if (!reply.ok) throw new Error(reply.message);
  return reply;
}

describe("root rotation with overlap", () => {
  it("trusts both roots while the new CA takes over, then only the new root", async () => {
    const old = await newCa();
    const next = await newCa();
    const rotation = createCaRotation(old);
    const before = await issueWith(rotation);

    rotation.trust(next);
    rotation.signWith(next);
    const during = await issueWith(rotation);
    const now = Date.now();
    const check = (chainPem: string, rootsPem: string) =>
      verifyWorkloadCertificate({ chainPem, rootsPem, trustDomain: "cluster.local", now, crypto });
    // Overlap: old and new workload certificates are both accepted with the bundle in force.
    expect((await check(before.certChainPem, rotation.bundle().rootsPem)).ok).toBe(true);
    expect((await check(during.certChainPem, rotation.bundle().rootsPem)).ok).toBe(true);
    expect(during.rootsPem).toBe(rotation.bundle().rootsPem);

    rotation.retire();
    expect((await check(during.certChainPem, rotation.bundle().rootsPem)).ok).toBe(true);
    const refused = await check(before.certChainPem, rotation.bundle().rootsPem);
    expect(refused).toMatchObject({ ok: false, code: "chain-untrusted" });
  });

  it("refuses to sign with a CA whose root is not trusted yet, or of another trust domain", async () => {
    const rotation = createCaRotation(await newCa());
    const next = await newCa();
    expect(() => rotation.signWith(next)).toThrow(/not in the trust bundle yet/);
    const foreign = await newCa("example.org");
    expect(() => rotation.trust(foreign)).toThrow(/trust domain example.org/);
  });
});
