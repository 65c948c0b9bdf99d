import type { Signer, Verifier } from "../broker/envelope.ts";
import { type Refusal, refuse } from "./errors.ts";
import { checkTrustDomain, parseWorkloadId, type WorkloadId } from "./spiffe-id.ts";

/**
 * Join tokens: how a VM or an edge worker proves which identity it may ask the CA for (on
 * Kubernetes a service-account token checked with TokenReview plays that role). A join token is a
 * Jibe envelope signed by the control plane's signing key (JWS compact, ES256, header
 * `{alg, kid, typ:"jibe+jws"}`), so the CA verifies it with the same trusted JWKS as bus events:
 *
 * ```json
 * { "v": 1, "id": "<uuid>", "iat": 1764460800000, "exp": 1764547200000,
 *   "join": { "trustDomain": "cluster.local", "namespace": "default", "serviceAccount": "reviews" } }
 * ```
 *
 * The `join` member makes it unusable as an event or stored resource (those readers require
 * `event`/`resource`), and vice versa. The token is reusable until `exp` (each renewal presents
 * it again); it is a bearer secret: keep it out of logs, and restrict who may subscribe to the CSR
 * subject with NATS permissions.
 *
 * @example
 * ```ts
 * const token = await createJoinToken(signer, { trustDomain: "cluster.local", namespace: "default",
 *   serviceAccount: "reviews" }, { now: Date.now(), ttlMs: 7 * 86_400_000 });
 * const read = await readJoinToken(verifier, token, Date.now()); // { ok: true, grant, expiresAt }
 * ```
 */
export type JoinGrant = WorkloadId;

/** Default join-token lifetime: 30 days. */
export const JOIN_TOKEN_TTL_MS = 30 * 86_400_000;

export async function createJoinToken(
  signer: Signer,
  grant: JoinGrant,
  opts: { now: number; ttlMs?: number },
): Promise<string> {
  const id = `spiffe://${grant.trustDomain}/ns/${grant.namespace}/sa/${grant.serviceAccount}`;
  const checked = parseWorkloadId(id);
  if (!checked.ok) throw new Error(`join token grant: ${checked.message}`);
  return signer.sign({
    v: 1,
    id: crypto.randomUUID(),
    iat: opts.now,
    exp: opts.now + (opts.ttlMs ?? JOIN_TOKEN_TTL_MS),
    join: {
      trustDomain: grant.trustDomain,
      namespace: grant.namespace,
      serviceAccount: grant.serviceAccount,
    },
  });
}

export type ReadJoinTokenResult = { ok: true; grant: JoinGrant; expiresAt: number; kid: string } | Refusal;

export async function readJoinToken(
  verifier: Verifier,
  token: string,
  now: number,
): Promise<ReadJoinTokenResult> {
  const verified = await verifier.verify(token);
  if (!verified.ok)
    return refuse("token-invalid", `join token rejected: ${verified.reason} (${verified.detail})`);
  const payload = verified.payload as { v?: unknown; exp?: unknown; join?: Record<string, unknown> } | null;
  const join = payload?.join;
  if (payload?.v !== 1 || typeof payload.exp !== "number" || typeof join !== "object" || join === null) {
    return refuse("token-invalid", "join token rejected: payload is not {v:1, exp, join:{...}}");
  }
  const { trustDomain, namespace, serviceAccount } = join;
  if (typeof trustDomain !== "string" || checkTrustDomain(trustDomain) !== undefined) {
    return refuse("token-invalid", "join token rejected: join.trustDomain is not a trust domain");
  }
  const id = parseWorkloadId(`spiffe://${trustDomain}/ns/${String(namespace)}/sa/${String(serviceAccount)}`);
  if (!id.ok || typeof namespace !== "string" || typeof serviceAccount !== "string") {
    return refuse(
      "token-invalid",
      "join token rejected: join.namespace / join.serviceAccount are not valid names",
    );
  }
  if (now >= payload.exp) {
    return refuse(
      "token-expired",
      `join token expired at ${new Date(payload.exp).toISOString()}; ask for a new one`,
    );
  }
  return { ok: true, grant: id.id, expiresAt: payload.exp, kid: verified.kid };
}
