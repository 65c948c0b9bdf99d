import { loadCertificateAuthority } from "../../identity/certificate-authority.ts";
import { generateCaMaterial } from "../../identity/generate-ca.ts";
import { createCertificateIssuer } from "../../identity/issuer.ts";
import { type RotationClient, startRotationClient } from "../../identity/rotation-client.ts";

/** An in-process mesh CA for sidecar tests (test code only). */
export interface TestIssuer {
  /** The CA's root certificate (PEM), for real TLS clients such as `openssl s_client`. */
  rootPem: string;
  /** A started rotation client holding the SVID of service account `sa` in `default` of cluster.local. */
  issue(sa: string): RotationClient;
}

/**
 * A fresh self-signed CA for trust domain cluster.local that grants any service account of namespace
 * `default` (the join token is the account name): sidecars get real SPIFFE certificates without a bus.
 *
 * @example
 * ```ts
 * const { issue } = await createTestIssuer();
 * await startSidecar({ ..., identity: issue("reviews") });
 * ```
 */
export async function createTestIssuer(): Promise<TestIssuer> {
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
  return {
    rootPem: material.rootCertPem,
    issue: (sa) =>
      startRotationClient({
        spiffeId: `spiffe://cluster.local/ns/default/sa/${sa}`,
        crypto,
        fetch: (csr) => issuer.issue({ v: 1, csr, credential: { type: "join-token", token: sa } }),
      }),
  };
}
