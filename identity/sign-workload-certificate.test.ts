import { describe, expect, it } from "vitest";
import { loadCertificateAuthority } from "./certificate-authority.ts";
import { createWorkloadCsr } from "./create-csr.ts";
import { generateCaMaterial } from "./generate-ca.ts";
import { readCsr } from "./read-csr.ts";
import { signWorkloadCertificate } from "./sign-workload-certificate.ts";
import { openssl, withPemFiles } from "./test-openssl.ts";
import { x509 } from "./x509.ts";

const trustDomain = "cluster.local";
const spiffeId = "spiffe://cluster.local/ns/default/sa/reviews";

async function issue(ttlMs = 86_400_000) {
  const now = Date.now();
  const { material } = await generateCaMaterial({ trustDomain, now, crypto });
  const ca = await loadCertificateAuthority(material, { trustDomain, now, crypto });
  const { csrPem } = await createWorkloadCsr({ spiffeId, crypto });
  const csr = await readCsr(csrPem, crypto);
  if (!csr.ok) throw new Error(csr.message);
  const leaf = await signWorkloadCertificate({
    ca,
    spiffeId: csr.spiffeId,
    subjectPublicKeyInfo: csr.subjectPublicKeyInfo,
    notBefore: new Date(now),
    notAfter: new Date(now + ttlMs),
    crypto,
  });
  return { material, ca, leaf };
}

describe("signWorkloadCertificate", () => {
  it("issues an X.509-SVID that openssl verifies up to the root", async () => {
    const { material, ca, leaf } = await issue();
    const result = await withPemFiles(
      { "root.pem": material.rootCertPem, "intermediate.pem": ca.chainPem, "leaf.pem": leaf.pem },
      (dir) =>
        openssl([
          "verify",
          "-CAfile",
          `${dir}/root.pem`,
          "-untrusted",
          `${dir}/intermediate.pem`,
          `${dir}/leaf.pem`,
        ]),
    );
    expect(result.stderr).toBe("");
    expect(result.stdout).toContain("leaf.pem: OK");
  });

  it("has exactly one URI SAN, CA:FALSE and the SVID key usages, as openssl reads them", async () => {
    const { leaf } = await issue();
    const text = await withPemFiles({ "leaf.pem": leaf.pem }, (dir) =>
      openssl(["x509", "-in", `${dir}/leaf.pem`, "-noout", "-text"]),
    );
    expect(text.code).toBe(0);
    const out = text.stdout;
    expect(out).toMatch(
      /X509v3 Subject Alternative Name: critical\s+URI:spiffe:\/\/cluster\.local\/ns\/default\/sa\/reviews\s*\n/,
    );
    expect(out.match(/URI:/g)).toHaveLength(1);
    expect(out).toMatch(/X509v3 Basic Constraints: critical\s+CA:FALSE/);
    expect(out).toMatch(/X509v3 Key Usage: critical\s+Digital Signature\s*\n/);
    expect(out).toMatch(
      /X509v3 Extended Key Usage:\s*\n\s+TLS Web Server Authentication, TLS Web Client Authentication/,
    );
    expect(out).toContain("X509v3 Subject Key Identifier");
    expect(out).toContain("X509v3 Authority Key Identifier");
    expect(out).toContain("ecdsa-with-SHA256");
    expect(out).toContain("NIST CURVE: P-256");
  });

  it("is parsed back by @peculiar/x509 with the requested validity and a 128-bit serial", async () => {
    const before = Date.now();
    const { leaf, ca } = await issue(3_600_000);
    const cert = new x509.X509Certificate(leaf.pem);
    expect(cert.serialNumber).toBe(leaf.serial);
    expect(leaf.serial).toHaveLength(32);
    expect(cert.notAfter.getTime() - cert.notBefore.getTime()).toBe(3_600_000);
    expect(Math.abs(cert.notBefore.getTime() - before)).toBeLessThan(5_000);
    expect(cert.issuer).toBe(ca.signingCert.subject);
    expect(await cert.verify({ publicKey: ca.signingCert.publicKey, signatureOnly: true }, crypto)).toBe(
      true,
    );
  });
});
