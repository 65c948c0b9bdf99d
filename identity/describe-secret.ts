import { splitPem } from "./pem.ts";
import { isCa } from "./verify-chain.ts";
import { x509 } from "./x509.ts";

/**
 * The data behind `jibe proxy-config secret`: for a workload's credentials, every certificate of
 * its chain and every trusted root with serial, validity and identity, as Istio's
 * `istioctl proxy-config secret` shows them. Takes only public material. Pure.
 *
 * @example
 * ```ts
 * const secret = describeSecret(client.current!, Date.now());
 * for (const cert of secret.chain) console.log(cert.role, cert.serial, cert.notBefore, cert.notAfter);
 * ```
 */
export interface CertificateSummary {
  role: "workload" | "intermediate" | "root";
  subject: string;
  issuer: string;
  /** Lower-case hex. */
  serial: string;
  notBefore: string;
  notAfter: string;
  /** The URI SAN, when there is one. */
  spiffeId?: string;
  /** "valid" | "expired" | "not-yet-valid" at the time asked. */
  state: "valid" | "expired" | "not-yet-valid";
}

export interface SecretSummary {
  spiffeId: string | undefined;
  chain: CertificateSummary[];
  roots: CertificateSummary[];
}

function summarise(
  cert: x509.X509Certificate,
  role: CertificateSummary["role"],
  now: number,
): CertificateSummary {
  const san = cert.getExtension("2.5.29.17");
  const uri =
    san instanceof x509.SubjectAlternativeNameExtension
      ? san.names.items.find((n) => n.type === "url")
      : undefined;
  const state =
    now < cert.notBefore.getTime() ? "not-yet-valid" : now > cert.notAfter.getTime() ? "expired" : "valid";
  return {
    role,
    subject: cert.subject,
    issuer: cert.issuer,
    serial: cert.serialNumber,
    notBefore: cert.notBefore.toISOString(),
    notAfter: cert.notAfter.toISOString(),
    ...(uri ? { spiffeId: uri.value } : {}),
    state,
  };
}

function certificates(pem: string): x509.X509Certificate[] {
  return splitPem(pem)
    .filter((block) => block.label === "CERTIFICATE")
    .map((block) => new x509.X509Certificate(block.der as BufferSource));
}

export function describeSecret(
  credentials: { certChainPem: string; rootsPem: string },
  now: number,
): SecretSummary {
  const chain = certificates(credentials.certChainPem).map((cert, index) =>
    summarise(cert, index === 0 && !isCa(cert) ? "workload" : "intermediate", now),
  );
  return {
    spiffeId: chain[0]?.spiffeId,
    chain,
    roots: certificates(credentials.rootsPem).map((cert) => summarise(cert, "root", now)),
  };
}
