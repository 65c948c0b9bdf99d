import { generateEcKeyPair, X509_SIGNING_ALGORITHM } from "./key-pair.ts";
import { x509 } from "./x509.ts";

/**
 * Workload side: makes a fresh ECDSA P-256 key pair and a PKCS#10 CSR asking for one SPIFFE ID.
 * The key pair stays with the caller; only `csrPem` (public) is meant to be sent. Pure (Web Crypto).
 *
 * @example
 * ```ts
 * const { csrPem, keys } = await createWorkloadCsr({ spiffeId: "spiffe://cluster.local/ns/default/sa/reviews", crypto });
 * ```
 */
export async function createWorkloadCsr(opts: {
  spiffeId: string;
  crypto: Crypto;
}): Promise<{ csrPem: string; keys: CryptoKeyPair }> {
  const keys = await generateEcKeyPair(opts.crypto);
  const csr = await x509.Pkcs10CertificateRequestGenerator.create(
    {
      keys,
      signingAlgorithm: X509_SIGNING_ALGORITHM,
      extensions: [new x509.SubjectAlternativeNameExtension([{ type: "url", value: opts.spiffeId }], true)],
    },
    opts.crypto,
  );
  return { csrPem: csr.toString("pem"), keys };
}
