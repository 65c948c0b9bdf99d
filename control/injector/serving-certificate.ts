import { exportPrivateKeyPem, generateEcKeyPair, X509_SIGNING_ALGORITHM } from "../../identity/key-pair.ts";
import { randomSerial, toHex } from "../../identity/serial-number.ts";
import { x509 } from "../../identity/x509.ts";

/** A PEM certificate + PKCS#8 key for the webhook's HTTPS listener. */
export interface ServingCertificate {
  certPem: string;
  keyPem: string;
}

/**
 * A self-signed serving certificate (ECDSA P-256, 1 year) for the webhook: its PEM is also the
 * `caBundle` of the MutatingWebhookConfiguration. Used when no certificate is given. Pure (Web Crypto).
 *
 * @example
 * ```ts
 * const { certPem, keyPem } = await createServingCertificate({
 *   dnsNames: ["jibe-injector.jibe-system.svc"], now: Date.now(), crypto });
 * ```
 */
export async function createServingCertificate(opts: {
  dnsNames: readonly string[];
  ipAddresses?: readonly string[];
  now: number;
  crypto: Crypto;
}): Promise<ServingCertificate> {
  const { crypto } = opts;
  const keys = await generateEcKeyPair(crypto);
  const names = [
    ...opts.dnsNames.map((value) => ({ type: "dns" as const, value })),
    ...(opts.ipAddresses ?? []).map((value) => ({ type: "ip" as const, value })),
  ];
  const cert = await x509.X509CertificateGenerator.createSelfSigned(
    {
      serialNumber: toHex(randomSerial(crypto)),
      name: [{ CN: [opts.dnsNames[0] ?? "jibe-injector"] }],
      notBefore: new Date(opts.now - 60_000),
      notAfter: new Date(opts.now + 365 * 24 * 3600_000),
      keys,
      signingAlgorithm: X509_SIGNING_ALGORITHM,
      extensions: [
        // Its own trust anchor (the caBundle), so a CA as far as verifiers are concerned.
        new x509.BasicConstraintsExtension(true, 0, true),
        new x509.KeyUsagesExtension(
          x509.KeyUsageFlags.digitalSignature | x509.KeyUsageFlags.keyCertSign,
          true,
        ),
        new x509.ExtendedKeyUsageExtension([x509.ExtendedKeyUsage.serverAuth]),
        new x509.SubjectAlternativeNameExtension(names),
      ],
    },
    crypto,
  );
  return { certPem: cert.toString("pem"), keyPem: await exportPrivateKeyPem(crypto, keys.privateKey) };
}
