import { X509_SIGNING_ALGORITHM } from "./key-pair.ts";
import { randomSerial, toHex } from "./serial-number.ts";
import { x509 } from "./x509.ts";

/**
 * Creates a self-signed root CA certificate for a trust domain (ECDSA P-256, SHA-256):
 * `O=<trust domain>, CN=Jibe Root CA`, CA with keyCertSign/cRLSign, SKI. Pure (Web Crypto).
 *
 * @example
 * ```ts
 * const keys = await generateEcKeyPair(crypto);
 * const root = await createRootCertificate({ trustDomain: "cluster.local", keys, now: Date.now(), crypto });
 * root.toString("pem");
 * ```
 */
export interface CreateRootOptions {
  trustDomain: string;
  keys: CryptoKeyPair;
  now: number;
  crypto: Crypto;
  /** Default 10 years (as Istio's self-signed root). */
  ttlMs?: number;
}

export const ROOT_TTL_MS = 10 * 365 * 24 * 3600_000;

export async function createRootCertificate(opts: CreateRootOptions): Promise<x509.X509Certificate> {
  const { crypto } = opts;
  return x509.X509CertificateGenerator.createSelfSigned(
    {
      serialNumber: toHex(randomSerial(crypto)),
      name: [{ O: [opts.trustDomain] }, { CN: ["Jibe Root CA"] }],
      notBefore: new Date(opts.now - 60_000),
      notAfter: new Date(opts.now + (opts.ttlMs ?? ROOT_TTL_MS)),
      keys: opts.keys,
      signingAlgorithm: X509_SIGNING_ALGORITHM,
      extensions: [
        new x509.BasicConstraintsExtension(true, undefined, true),
        new x509.KeyUsagesExtension(x509.KeyUsageFlags.keyCertSign | x509.KeyUsageFlags.cRLSign, true),
        await x509.SubjectKeyIdentifierExtension.create(opts.keys.publicKey, false, crypto),
      ],
    },
    crypto,
  );
}
