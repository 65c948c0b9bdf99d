import type { Authenticator } from "./authenticate.ts";
import type { CertificateAuthority } from "./certificate-authority.ts";
import { type CsrReply, readCsrRequest } from "./csr-wire.ts";
import { type Refusal, refuse } from "./errors.ts";
import { readCsr } from "./read-csr.ts";
import { signWorkloadCertificate } from "./sign-workload-certificate.ts";
import { formatSpiffeId, parseWorkloadId } from "./spiffe-id.ts";

/**
 * The CA's decision, transport-free: a CSR request in, a reply out. In order: request shape →
 * credential (who is asking) → CSR (ECDSA P-256, self-signature, one URI SAN) → SPIFFE ID in this
 * CA's trust domain → the credential grants exactly that namespace and service account → sign,
 * with the requested TTL clamped to `maxTtlMs` and to the CA's own expiry. Pure (Web Crypto).
 *
 * @example
 * ```ts
 * const issuer = createCertificateIssuer({ ca, authenticator, clock: Date.now, crypto });
 * const reply = await issuer.issue(JSON.parse(text)); // { v:1, ok:true, certChainPem, ... } | { v:1, ok:false, code, message }
 * ```
 */
export interface IssuerOptions {
  /** The CA to sign with; a function so a rotated intermediate is picked up without a restart. */
  ca: CertificateAuthority | (() => CertificateAuthority);
  authenticator: Authenticator;
  /** Mesh-wide default workload certificate lifetime. Default 24 h. */
  defaultTtlMs?: number;
  /** Upper bound for a per-workload `ttlSeconds`. Default 90 days (Istio's MAX_WORKLOAD_CERT_TTL). */
  maxTtlMs?: number;
  clock?: () => number;
  crypto: Crypto;
}

export const DEFAULT_WORKLOAD_TTL_MS = 24 * 3600_000;
export const MAX_WORKLOAD_TTL_MS = 90 * 24 * 3600_000;
/** Tolerated clock skew between CA and peers, capped to a tenth of the lifetime (short test TTLs). */
const BACKDATE_MS = 60_000;

export interface CertificateIssuer {
  issue(request: unknown): Promise<CsrReply>;
}

export function createCertificateIssuer(opts: IssuerOptions): CertificateIssuer {
  const clock = opts.clock ?? Date.now;
  const currentCa = typeof opts.ca === "function" ? opts.ca : () => opts.ca as CertificateAuthority;
  const defaultTtl = opts.defaultTtlMs ?? DEFAULT_WORKLOAD_TTL_MS;
  const maxTtl = opts.maxTtlMs ?? MAX_WORKLOAD_TTL_MS;
  const fail = (refusal: Refusal): CsrReply => ({ v: 1, ...refusal });

  return {
    async issue(input) {
      const read = readCsrRequest(input);
      if (!read.ok) return fail(read);
      const { request } = read;
      const auth = await opts.authenticator.authenticate(request.credential);
      if (!auth.ok) return fail(auth);
      const csr = await readCsr(request.csr, opts.crypto);
      if (!csr.ok) return fail(csr);
      const id = parseWorkloadId(csr.spiffeId);
      if (!id.ok) return fail(id);
      const ca = currentCa();
      if (id.id.trustDomain !== ca.trustDomain) {
        return fail(
          refuse(
            "trust-domain-mismatch",
            `CSR asks for ${csr.spiffeId} but this CA issues for trust domain ${ca.trustDomain}`,
          ),
        );
      }
      const { grant } = auth;
      if (
        grant.trustDomain !== id.id.trustDomain ||
        grant.namespace !== id.id.namespace ||
        grant.serviceAccount !== id.id.serviceAccount
      ) {
        return fail(
          refuse(
            "identity-not-granted",
            `CSR asks for ${csr.spiffeId}; the credential grants ${formatSpiffeId(grant)}`,
          ),
        );
      }
      const now = clock();
      const ttl = Math.min(request.ttlSeconds ? request.ttlSeconds * 1000 : defaultTtl, maxTtl);
      const notBefore = now - Math.min(BACKDATE_MS, Math.floor(ttl / 10));
      const notAfter = Math.min(now + ttl, ca.signingCert.notAfter.getTime());
      if (notAfter <= now) return fail(refuse("issuance-failed", "the CA's signing certificate has expired"));
      const signed = await signWorkloadCertificate({
        ca,
        spiffeId: csr.spiffeId,
        subjectPublicKeyInfo: csr.subjectPublicKeyInfo,
        notBefore: new Date(notBefore),
        notAfter: new Date(notAfter),
        crypto: opts.crypto,
      });
      return {
        v: 1,
        ok: true,
        spiffeId: csr.spiffeId,
        certChainPem: `${signed.pem}${ca.chainPem}`,
        rootsPem: ca.rootsPem,
        serial: signed.serial,
        // Seconds precision, as encoded in the certificate.
        notBefore: new Date(Math.floor(notBefore / 1000) * 1000).toISOString(),
        notAfter: new Date(Math.floor(notAfter / 1000) * 1000).toISOString(),
      };
    },
  };
}
