import { JibeError } from "../broker/errors.ts";

/**
 * Error codes of the identity package. Issuance refusals travel on the bus as `{ ok: false, code,
 * message }` with these same codes, so a workload can switch on them.
 *
 * @example
 * ```ts
 * throw new IdentityError("identity-not-granted", "token grants ns/default/sa/a, CSR asks for sa/b");
 * ```
 */
export type IdentityErrorCode =
  /** The CSR's SPIFFE ID is in another trust domain than this CA's. */
  | "trust-domain-mismatch"
  /** The credential is valid but does not grant the requested namespace/service account. */
  | "identity-not-granted"
  /** The CSR's self-signature does not verify with its own public key. */
  | "csr-invalid-signature"
  /** Not a PKCS#10 CSR, not ECDSA P-256, or not exactly one URI SAN. */
  | "csr-malformed"
  /** A SPIFFE ID (or trust domain) that does not follow the SPIFFE ID spec / Jibe's ns/sa layout. */
  | "spiffe-id-invalid"
  /** The join token (or service-account token) is past its expiry. */
  | "token-expired"
  /** The token is forged, signed by an unknown key, malformed, or rejected by TokenReview. */
  | "token-invalid"
  /** The credential type is not accepted by this CA (e.g. Kubernetes tokens without TokenReview). */
  | "credential-unsupported"
  /** The request on the bus is not a CSR request of a known version. */
  | "request-malformed"
  /** CA material (generated or plug-in files) is unusable: the message names the file and the fix. */
  | "ca-invalid"
  /** No CA answered (no responders, timeout, NATS down). Retry later. */
  | "ca-unavailable"
  /** A certificate chain does not lead to a trusted root (e.g. a foreign CA). */
  | "chain-untrusted"
  /** A certificate is outside its validity period. */
  | "certificate-expired"
  /** Unexpected failure inside the CA. */
  | "issuance-failed"
  /** A root rotation step that does not apply now (one in progress, none to finish, a plug-in CA). */
  | "rotation-refused";

/** An error thrown by the identity package. */
export class IdentityError extends JibeError<IdentityErrorCode> {
  constructor(code: IdentityErrorCode, message: string, options: { cause?: unknown; user?: boolean } = {}) {
    super(code, message, options);
    this.name = "IdentityError";
  }
}

/** A refusal as a value (what crosses the bus and what pure checks return). */
export interface Refusal {
  ok: false;
  code: IdentityErrorCode;
  message: string;
}

/** Builds a {@link Refusal}. */
export function refuse(code: IdentityErrorCode, message: string): Refusal {
  return { ok: false, code, message };
}
