import { X509_SIGNING_ALGORITHM } from "./key-pair.ts";
import { randomSerial, toHex } from "./serial-number.ts";
import { x509 } from "./x509.ts";

/**
 * Creates the intermediate (issuing) CA certificate signed by a root: `O=<trust domain>,
 * CN=Jibe Intermediate CA`, CA with pathLen 0 (it signs only workload leaves), keyCertSign and
 * cRLSign, SKI and AKI. Never valid past its issuer. Pure (Web Crypto).
 *
 * @example
 * ```ts
 * const cert = await createIntermediateCertificate({ trustDomain, publicKey: keys.publicKey,
 *   issuer: root, issuerKey: rootKeys.privateKey, now: Date.now(), crypto });
 * ```
 */
export interface CreateIntermediateOptions {
  trustDomain: string;
  publicKey: CryptoKey;
  issuer: x509.X509Certificate;
  issuerKey: CryptoKey;
  now: number;
  crypto: Crypto;
  /** Default 1 year. */
  ttlMs?: number;
}

export const INTERMEDIATE_TTL_MS = 365 * 24 * 3600_000;

export async function createIntermediateCertificate(
  opts: CreateIntermediateOptions,
): Promise<x509.X509Certificate> {
  const { crypto } = opts;
  const notAfter = Math.min(opts.now + (opts.ttlMs ?? INTERMEDIATE_TTL_MS), opts.issuer.notAfter.getTime());
  return x509.X509CertificateGenerator.create(
    {
      serialNumber: toHex(randomSerial(crypto)),
      subject: [{ O: [opts.trustDomain] }, { CN: ["Jibe Intermediate CA"] }],
      issuer: opts.issuer.subjectName,
      notBefore: new Date(opts.now - 60_000),
      notAfter: new Date(notAfter),
      publicKey: opts.publicKey,
      signingKey: opts.issuerKey,
      signingAlgorithm: X509_SIGNING_ALGORITHM,
      extensions: [
        new x509.BasicConstraintsExtension(true, 0, true),
        new x509.KeyUsagesExtension(
          x509.KeyUsageFlags.keyCertSign | x509.KeyUsageFlags.cRLSign | x509.KeyUsageFlags.digitalSignature,
          true,
        ),
        await x509.SubjectKeyIdentifierExtension.create(opts.publicKey, false, crypto),
        await x509.AuthorityKeyIdentifierExtension.create(opts.issuer, false, crypto),
      ],
    },
    crypto,
  );
}
