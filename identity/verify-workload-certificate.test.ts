import { describe, expect, it } from "vitest";
import { loadCertificateAuthority } from "./certificate-authority.ts";
import { createWorkloadCsr } from "./create-csr.ts";
import { generateCaMaterial } from "./generate-ca.ts";
import { readCsr } from "./read-csr.ts";
import { signWorkloadCertificate } from "./sign-workload-certificate.ts";
import { openssl, withPemFiles } from "./test-openssl.ts";
import { verifyWorkloadCertificate } from "./verify-workload-certificate.ts";

async function meshCa(trustDomain = "cluster.local") {
  const now = Date.now();
  const { material } = await generateCaMaterial({ trustDomain, now, crypto });
  return loadCertificateAuthority(material, { trustDomain, now, crypto });
}

async function svid(
  ca: Awaited<ReturnType<typeof meshCa>>,
  spiffeId: string,
  notBefore = Date.now(),
  ttlMs = 3_600_000,
) {
  const { csrPem } = await createWorkloadCsr({ spiffeId, crypto });
  const csr = await readCsr(csrPem, crypto);
  if (!csr.ok) throw new Error(csr.message);
  const leaf = await signWorkloadCertificate({
    ca,
    spiffeId,
    subjectPublicKeyInfo: csr.subjectPublicKeyInfo,
    notBefore: new Date(notBefore),
    notAfter: new Date(notBefore + ttlMs),
    crypto,
  });
  return `${leaf.pem}${ca.chainPem}`;
}

const verify = (chainPem: string, rootsPem: string, trustDomain = "cluster.local", now = Date.now()) =>
  verifyWorkloadCertificate({ chainPem, rootsPem, trustDomain, now, crypto });

describe("verifyWorkloadCertificate (what a proxy checks on a peer)", () => {
  it("accepts a mesh SVID and names its identity", async () => {
    const ca = await meshCa();
    const result = await verify(await svid(ca, "spiffe://cluster.local/ns/default/sa/reviews"), ca.rootsPem);
    expect(result).toMatchObject({
      ok: true,
      spiffeId: "spiffe://cluster.local/ns/default/sa/reviews",
      id: { namespace: "default", serviceAccount: "reviews" },
    });
  });

  it("refuses a certificate from a foreign CA (and so does openssl)", async () => {
    const [mesh, foreign] = [await meshCa(), await meshCa()];
    const chain = await svid(foreign, "spiffe://cluster.local/ns/default/sa/reviews");
    expect(await verify(chain, mesh.rootsPem)).toMatchObject({ ok: false, code: "chain-untrusted" });
    const out = await withPemFiles({ "root.pem": mesh.rootsPem, "chain.pem": chain }, (dir) =>
      openssl(["verify", "-CAfile", `${dir}/root.pem`, "-untrusted", `${dir}/chain.pem`, `${dir}/chain.pem`]),
    );
    expect(out.code).not.toBe(0);
  });

  it("refuses an expired certificate and one from another trust domain", async () => {
    const ca = await meshCa();
    const expired = await svid(
      ca,
      "spiffe://cluster.local/ns/default/sa/reviews",
      Date.now() - 7_200_000,
      3_600_000,
    );
    expect(await verify(expired, ca.rootsPem)).toMatchObject({ ok: false, code: "certificate-expired" });
    const other = await meshCa("other.example");
    const foreignDomain = await svid(other, "spiffe://other.example/ns/default/sa/reviews");
    expect(await verify(foreignDomain, `${ca.rootsPem}${other.rootsPem}`)).toMatchObject({
      ok: false,
      code: "trust-domain-mismatch",
    });
  });

  it("accepts either root while both are in the bundle (root rotation overlap)", async () => {
    const [oldCa, newCa] = [await meshCa(), await meshCa()];
    const bundle = `${oldCa.rootsPem}${newCa.rootsPem}`;
    for (const ca of [oldCa, newCa]) {
      expect((await verify(await svid(ca, "spiffe://cluster.local/ns/a/sa/b"), bundle)).ok).toBe(true);
    }
  });
});
