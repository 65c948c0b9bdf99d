import type { Credential } from "./authenticate.ts";
import { type IdentityErrorCode, type Refusal, refuse } from "./errors.ts";

/**
 * The JSON messages on {@link CSR_SUBJECT} (request/reply), validated here, at the bus edge.
 *
 * Request: `{ v: 1, csr: "<PEM PKCS#10>", credential: { type: "join-token" | "kubernetes", token },
 * ttlSeconds?: number }`. Reply: `{ v: 1, ok: true, spiffeId, certChainPem, rootsPem, serial,
 * notBefore, notAfter }` (times as ISO strings; `certChainPem` = the workload certificate then the
 * intermediates, without the root) or `{ v: 1, ok: false, code, message }`.
 *
 * @example
 * ```ts
 * const request: CsrRequest = { v: 1, csr: csrPem, credential: { type: "join-token", token } };
 * const reply = readCsrReply(JSON.parse(new TextDecoder().decode(msg.data)));
 * ```
 */
export interface CsrRequest {
  v: 1;
  csr: string;
  credential: Credential;
  /** Requested lifetime (the per-workload SECRET_TTL); the CA clamps it to its maximum. */
  ttlSeconds?: number;
}

export interface IssuedCertificate {
  spiffeId: string;
  /** The workload certificate followed by the intermediates (no root). */
  certChainPem: string;
  /** Every root the mesh trusts right now. */
  rootsPem: string;
  serial: string;
  notBefore: string;
  notAfter: string;
}

export type CsrReply = ({ v: 1; ok: true } & IssuedCertificate) | ({ v: 1 } & Refusal);

const isObject = (value: unknown): value is Record<string, unknown> =>
  typeof value === "object" && value !== null;
const CREDENTIAL_TYPES = new Set(["join-token", "kubernetes"]);
/** Bounds the work an oversized request can cause before anything is checked. */
const MAX_FIELD_LENGTH = 16_384;

export function readCsrRequest(value: unknown): { ok: true; request: CsrRequest } | Refusal {
  const bad = (detail: string) => refuse("request-malformed", `CSR request: ${detail}`);
  if (!isObject(value)) return bad("expected a JSON object");
  if (value.v !== 1) return bad(`v: expected 1, got ${JSON.stringify(value.v)}`);
  if (typeof value.csr !== "string" || value.csr.length > MAX_FIELD_LENGTH)
    return bad("csr: expected a PEM string");
  const credential = value.credential;
  if (
    !isObject(credential) ||
    typeof credential.type !== "string" ||
    !CREDENTIAL_TYPES.has(credential.type)
  ) {
    return bad('credential.type: expected "join-token" or "kubernetes"');
  }
  if (typeof credential.token !== "string" || credential.token.length > MAX_FIELD_LENGTH) {
    return bad("credential.token: expected a string");
  }
  if (
    value.ttlSeconds !== undefined &&
    (!Number.isInteger(value.ttlSeconds) || (value.ttlSeconds as number) < 1)
  ) {
    return bad("ttlSeconds: expected a positive integer");
  }
  return {
    ok: true,
    request: {
      v: 1,
      csr: value.csr,
      credential: { type: credential.type as Credential["type"], token: credential.token },
      ...(value.ttlSeconds === undefined ? {} : { ttlSeconds: value.ttlSeconds as number }),
    },
  };
}

export function readCsrReply(value: unknown): CsrReply {
  if (!isObject(value) || value.v !== 1)
    return { v: 1, ...refuse("issuance-failed", "CA reply: not a v1 object") };
  if (value.ok === false) {
    const code = typeof value.code === "string" ? (value.code as IdentityErrorCode) : "issuance-failed";
    return { v: 1, ...refuse(code, typeof value.message === "string" ? value.message : "refused") };
  }
  const fields = ["spiffeId", "certChainPem", "rootsPem", "serial", "notBefore", "notAfter"] as const;
  for (const field of fields) {
    if (typeof value[field] !== "string")
      return { v: 1, ...refuse("issuance-failed", `CA reply: ${field} missing`) };
  }
  const issued = Object.fromEntries(
    fields.map((field) => [field, value[field]]),
  ) as unknown as IssuedCertificate;
  return { v: 1, ok: true, ...issued };
}
