import type { CaMaterial } from "./certificate-authority.ts";
import { createIntermediateCertificate } from "./create-intermediate-ca.ts";
import { createRootCertificate } from "./create-root-ca.ts";
import { exportPrivateKeyPem, generateEcKeyPair } from "./key-pair.ts";

/**
 * Generates a fresh self-signed CA for a trust domain: a root (10 years) and an intermediate
 * (1 year) that signs workload certificates, as PEM material ready for
 * {@link loadCertificateAuthority} and for the node adapter to persist. The root key is returned
 * too (only the self-signed CA has one) so a later intermediate can be issued. Pure (Web Crypto).
 *
 * @example
 * ```ts
 * const { material, rootKeyPem } = await generateCaMaterial({ trustDomain: "cluster.local", now: Date.now(), crypto });
 * ```
 */
export interface GeneratedCa {
  material: CaMaterial;
  rootKeyPem: string;
}

export async function generateCaMaterial(opts: {
  trustDomain: string;
  now: number;
  crypto: Crypto;
  rootTtlMs?: number;
  intermediateTtlMs?: number;
}): Promise<GeneratedCa> {
  const { crypto, now, trustDomain } = opts;
  const rootKeys = await generateEcKeyPair(crypto);
  const root = await createRootCertificate({
    trustDomain,
    keys: rootKeys,
    now,
    crypto,
    ...(opts.rootTtlMs ? { ttlMs: opts.rootTtlMs } : {}),
  });
  const caKeys = await generateEcKeyPair(crypto);
  const intermediate = await createIntermediateCertificate({
    trustDomain,
    publicKey: caKeys.publicKey,
    issuer: root,
    issuerKey: rootKeys.privateKey,
    now,
    crypto,
    ...(opts.intermediateTtlMs ? { ttlMs: opts.intermediateTtlMs } : {}),
  });
  const rootPem = root.toString("pem");
  const caCertPem = intermediate.toString("pem");
  return {
    material: {
      caCertPem: `${caCertPem}\n`,
      caKeyPem: await exportPrivateKeyPem(crypto, caKeys.privateKey),
      certChainPem: `${caCertPem}\n${rootPem}\n`,
      rootCertPem: `${rootPem}\n`,
    },
    rootKeyPem: await exportPrivateKeyPem(crypto, rootKeys.privateKey),
  };
}
