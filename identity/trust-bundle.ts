import type { Signer, Verifier } from "../broker/envelope.ts";
import { type Refusal, refuse } from "./errors.ts";
import { splitPem } from "./pem.ts";
import { checkTrustDomain } from "./spiffe-id.ts";

/**
 * The trust bundle: the roots every proxy must trust for a trust domain (several during a root
 * rotation). It is published signed by the control plane, like every value on the bus:
 *
 * ```json
 * { "v": 1, "id": "<uuid>", "iat": 1764460800000,
 *   "trustBundle": { "trustDomain": "cluster.local", "rootsPem": "-----BEGIN CERTIFICATE-----..." } }
 * ```
 *
 * There is no age limit (it is durable state, like a config-store value); freshness comes from the
 * KV revision. Pure (jose via the broker's signer/verifier).
 *
 * @example
 * ```ts
 * const jws = await signTrustBundle(signer, { trustDomain: "cluster.local", rootsPem: ca.rootsPem }, Date.now());
 * const opened = await openTrustBundle(verifier, jws); // { ok: true, bundle }
 * ```
 */
export interface TrustBundle {
  trustDomain: string;
  rootsPem: string;
}

export function signTrustBundle(signer: Signer, bundle: TrustBundle, now: number): Promise<string> {
  return signer.sign({ v: 1, id: crypto.randomUUID(), iat: now, trustBundle: bundle });
}

export async function openTrustBundle(
  verifier: Verifier,
  jws: string,
): Promise<{ ok: true; bundle: TrustBundle; iat: number; kid: string } | Refusal> {
  const verified = await verifier.verify(jws);
  if (!verified.ok)
    return refuse("chain-untrusted", `trust bundle rejected: ${verified.reason} (${verified.detail})`);
  const payload = verified.payload as {
    v?: unknown;
    iat?: unknown;
    trustBundle?: Record<string, unknown>;
  } | null;
  const bundle = payload?.trustBundle;
  if (payload?.v !== 1 || typeof payload.iat !== "number" || typeof bundle !== "object" || bundle === null) {
    return refuse("chain-untrusted", "trust bundle rejected: payload is not {v:1, iat, trustBundle}");
  }
  const { trustDomain, rootsPem } = bundle;
  if (typeof trustDomain !== "string" || checkTrustDomain(trustDomain) !== undefined) {
    return refuse("chain-untrusted", "trust bundle rejected: trustBundle.trustDomain is invalid");
  }
  if (typeof rootsPem !== "string" || !splitPem(rootsPem).some((block) => block.label === "CERTIFICATE")) {
    return refuse("chain-untrusted", "trust bundle rejected: trustBundle.rootsPem holds no certificate");
  }
  return { ok: true, bundle: { trustDomain, rootsPem }, iat: payload.iat, kid: verified.kid };
}
