import {
  CompactSign,
  type CryptoKey,
  calculateJwkThumbprint,
  compactVerify,
  decodeProtectedHeader,
  errors,
  exportJWK,
  generateKeyPair,
  importJWK,
  type JWK,
} from "jose";
import { BrokerError } from "./errors.ts";
import type { MeshEvent, StoredResource } from "./events.ts";
import { readEventPayload, readStoredResourcePayload } from "./payload-shape.ts";

/**
 * Signed envelopes: every event on the bus and every value in the config store is a JWS
 * (compact serialisation, ES256) with protected header `{alg:"ES256", kid, typ:"jibe+jws"}` and a
 * JSON payload `{v:1, id, iat, event}` or `{v:1, id, iat, resource}`. The control plane signs with
 * its private key; consumers verify against a trusted JWKS. Pure: jose + Web Crypto only, so it
 * runs in workerd as well as Node.
 *
 * @example
 * ```ts
 * const { privateJwk, publicJwks } = await generateSigningKey();
 * const signer = await createSigner(privateJwk);
 * const jws = await signEvent(signer, event, Date.now());
 * const opened = await openEvent(await createVerifier(publicJwks), jws);
 * if (opened.ok) handle(opened.event); else count(opened.reason);
 * ```
 */
export const ENVELOPE_TYP = "jibe+jws";
/** The only signature algorithm Jibe accepts. */
export const ENVELOPE_ALG = "ES256";

/** Why a message was dropped. Every rejection is counted under one of these. */
export type RejectReason =
  | "unsigned"
  | "malformed"
  | "unknown-key"
  | "bad-signature"
  | "replayed"
  | "expired"
  | "stale";

/** All reject reasons, e.g. to initialise counters. */
export const REJECT_REASONS: readonly RejectReason[] = [
  "unsigned",
  "malformed",
  "unknown-key",
  "bad-signature",
  "replayed",
  "expired",
  "stale",
];

/** A zeroed counter per reject reason. */
export function emptyRejectCounts(): Record<RejectReason, number> {
  return Object.fromEntries(REJECT_REASONS.map((r) => [r, 0])) as Record<RejectReason, number>;
}

/** Signs payloads with one private key. */
export interface Signer {
  kid: string;
  sign(payload: object): Promise<string>;
}

/** A rejected envelope: why, and a human-readable detail for logs. */
export interface Rejection {
  ok: false;
  reason: RejectReason;
  detail: string;
}

export type VerifyResult = { ok: true; payload: unknown; kid: string } | Rejection;

/** Checks signatures against a set of trusted public keys (several kids allowed, for rotation). */
export interface Verifier {
  verify(jws: string): Promise<VerifyResult>;
}

/** A verified bus event with its envelope fields. */
export type OpenedEvent = { ok: true; event: MeshEvent; id: string; iat: number; kid: string } | Rejection;
/** A verified config-store value with its envelope fields. */
export type OpenedStoredResource =
  | { ok: true; resource: StoredResource; id: string; iat: number; kid: string }
  | Rejection;

const COMPACT_JWS = /^[A-Za-z0-9_-]+\.[A-Za-z0-9_-]*\.[A-Za-z0-9_-]*$/;
const utf8 = new TextEncoder();
const fromUtf8 = new TextDecoder("utf-8", { fatal: true });

/** The public members of an EC JWK (drops `d` and everything else). */
function publicPart(jwk: JWK): JWK {
  const { kty, crv, x, y } = jwk;
  return { kty, crv, x, y };
}

function assertP256(jwk: JWK, what: string, code: "signing-key-invalid" | "trust-jwks-invalid"): void {
  if (jwk.kty !== "EC" || jwk.crv !== "P-256" || typeof jwk.x !== "string" || typeof jwk.y !== "string") {
    throw new BrokerError(code, `${what}: expected an EC P-256 JWK (kty "EC", crv "P-256", x, y) for ES256`, {
      user: true,
    });
  }
}

/** The kid Jibe gives a key: its RFC 7638 SHA-256 thumbprint. */
export function thumbprintKid(jwk: JWK): Promise<string> {
  return calculateJwkThumbprint(publicPart(jwk), "sha256");
}

/** Generates a new ES256 key pair; `kid` is the public key's thumbprint. */
export async function generateSigningKey(): Promise<{ privateJwk: JWK; publicJwks: { keys: JWK[] } }> {
  const { privateKey } = await generateKeyPair(ENVELOPE_ALG, { extractable: true });
  const exported = await exportJWK(privateKey);
  const kid = await thumbprintKid(exported);
  const privateJwk: JWK = { ...exported, kid, alg: ENVELOPE_ALG, use: "sig" };
  return { privateJwk, publicJwks: { keys: [publicJwk(privateJwk)] } };
}

/** The public JWK (with kid, alg, use) of a private or public JWK. */
export function publicJwk(jwk: JWK): JWK {
  return { ...publicPart(jwk), kid: jwk.kid, alg: ENVELOPE_ALG, use: "sig" };
}

/** Creates a signer from a private ES256 JWK. A JWK without `kid` gets its thumbprint. */
export async function createSigner(privateJwk: JWK): Promise<Signer> {
  assertP256(privateJwk, "signing key", "signing-key-invalid");
  if (typeof privateJwk.d !== "string") {
    throw new BrokerError("signing-key-invalid", "signing key: the JWK has no private part (`d`)", {
      user: true,
    });
  }
  const kid = privateJwk.kid ?? (await thumbprintKid(privateJwk));
  const key = await importJWK({ ...privateJwk, alg: ENVELOPE_ALG }, ENVELOPE_ALG);
  return {
    kid,
    sign(payload: object): Promise<string> {
      return new CompactSign(utf8.encode(JSON.stringify(payload)))
        .setProtectedHeader({ alg: ENVELOPE_ALG, kid, typ: ENVELOPE_TYP })
        .sign(key);
    },
  };
}

/** Creates a verifier trusting every key of `jwks` (private members are ignored). */
export async function createVerifier(jwks: { keys: JWK[] }): Promise<Verifier> {
  if (!jwks || !Array.isArray(jwks.keys)) {
    throw new BrokerError("trust-jwks-invalid", 'trusted JWKS: expected {"keys": [ ...public JWKs... ]}', {
      user: true,
    });
  }
  const keys = new Map<string, CryptoKey | Uint8Array>();
  for (const [index, jwk] of jwks.keys.entries()) {
    assertP256(jwk, `trusted JWKS keys[${index}]`, "trust-jwks-invalid");
    const kid = jwk.kid ?? (await thumbprintKid(jwk));
    keys.set(kid, await importJWK({ ...publicPart(jwk), alg: ENVELOPE_ALG }, ENVELOPE_ALG));
  }
  return { verify: (jws) => verifyWith(keys, jws) };
}

function reject(reason: RejectReason, detail: string): Rejection {
  return { ok: false, reason, detail };
}

function looksLikeJson(text: string): boolean {
  try {
    JSON.parse(text);
    return true;
  } catch {
    return false;
  }
}

async function verifyWith(keys: Map<string, CryptoKey | Uint8Array>, jws: string): Promise<VerifyResult> {
  if (typeof jws !== "string") return reject("malformed", "not a string");
  const text = jws.trim();
  if (!COMPACT_JWS.test(text)) {
    return looksLikeJson(text)
      ? reject("unsigned", "plain JSON, not a signed envelope")
      : reject("malformed", "not a compact JWS");
  }
  let header: ReturnType<typeof decodeProtectedHeader>;
  try {
    header = decodeProtectedHeader(text);
  } catch {
    return reject("malformed", "protected header is not base64url JSON");
  }
  if (header.alg === "none" || text.endsWith(".")) return reject("unsigned", "JWS without a signature");
  if (header.alg !== ENVELOPE_ALG) return reject("malformed", `alg ${String(header.alg)} (expected ES256)`);
  if (header.typ !== ENVELOPE_TYP)
    return reject("malformed", `typ ${String(header.typ)} (expected ${ENVELOPE_TYP})`);
  if (typeof header.kid !== "string") return reject("unknown-key", "no kid in the protected header");
  const key = keys.get(header.kid);
  if (!key) return reject("unknown-key", `kid ${header.kid} is not in the trusted JWKS`);
  let payloadBytes: Uint8Array;
  try {
    ({ payload: payloadBytes } = await compactVerify(text, key, { algorithms: [ENVELOPE_ALG] }));
  } catch (err) {
    if (err instanceof errors.JWSSignatureVerificationFailed) {
      return reject("bad-signature", `signature does not verify with kid ${header.kid}`);
    }
    return reject("malformed", err instanceof Error ? err.message : String(err));
  }
  try {
    return { ok: true, payload: JSON.parse(fromUtf8.decode(payloadBytes)), kid: header.kid };
  } catch {
    return reject("malformed", "payload is not UTF-8 JSON");
  }
}

/** Signs a bus event: payload `{v:1, id, iat: now, event}`. */
export function signEvent(signer: Signer, event: MeshEvent, now: number): Promise<string> {
  return signer.sign({ v: 1, id: crypto.randomUUID(), iat: now, event });
}

/** Signs a config-store value: payload `{v:1, id, iat: now, resource}`. */
export function signStoredResource(signer: Signer, resource: StoredResource, now: number): Promise<string> {
  return signer.sign({ v: 1, id: crypto.randomUUID(), iat: now, resource });
}

/** Verifies a bus event and checks its payload shape (replay/expiry are the replay guard's job). */
export async function openEvent(verifier: Verifier, jws: string): Promise<OpenedEvent> {
  const verified = await verifier.verify(jws);
  if (!verified.ok) return verified;
  const read = readEventPayload(verified.payload);
  if (!read.ok) return reject("malformed", read.detail);
  return { ok: true, ...read.value, kid: verified.kid };
}

/** Verifies a config-store value and checks its payload shape. */
export async function openStoredResource(verifier: Verifier, jws: string): Promise<OpenedStoredResource> {
  const verified = await verifier.verify(jws);
  if (!verified.ok) return verified;
  const read = readStoredResourcePayload(verified.payload);
  if (!read.ok) return reject("malformed", read.detail);
  return { ok: true, ...read.value, kid: verified.kid };
}
