import { type Refusal, refuse } from "./errors.ts";

/**
 * SPIFFE IDs as Jibe (and Istio) use them: `spiffe://<trust-domain>/ns/<namespace>/sa/<service-account>`.
 * Parsing follows the SPIFFE ID spec (lower-case trust domain of `[a-z0-9._-]`, path segments of
 * `[A-Za-z0-9._-]`, no `.`/`..`/empty segments, no query, fragment, port or user info). Pure.
 *
 * @example
 * ```ts
 * formatSpiffeId({ trustDomain: "cluster.local", namespace: "default", serviceAccount: "reviews" });
 * // "spiffe://cluster.local/ns/default/sa/reviews"
 * parseWorkloadId("spiffe://cluster.local/ns/default/sa/reviews"); // { ok: true, id: {...} }
 * ```
 */
export interface WorkloadId {
  trustDomain: string;
  namespace: string;
  serviceAccount: string;
}

/** Istio's default trust domain. */
export const DEFAULT_TRUST_DOMAIN = "cluster.local";

const TRUST_DOMAIN = /^[a-z0-9._-]+$/;
const SEGMENT = /^[A-Za-z0-9._-]+$/;
const MAX_ID_LENGTH = 2048;

/** A reason the trust domain is invalid, or `undefined` when it is valid. */
export function checkTrustDomain(trustDomain: string): string | undefined {
  if (trustDomain.length === 0 || trustDomain.length > 255) return "must be 1-255 characters";
  if (!TRUST_DOMAIN.test(trustDomain)) return "may only contain lower-case letters, digits, '.', '-' and '_'";
  return undefined;
}

/** `spiffe://td/ns/<ns>/sa/<sa>`. Throws nothing: validate inputs with {@link parseWorkloadId}. */
export function formatSpiffeId(id: WorkloadId): string {
  return `spiffe://${id.trustDomain}/ns/${id.namespace}/sa/${id.serviceAccount}`;
}

/** Parses a SPIFFE ID into trust domain and path segments. */
export function parseSpiffeId(uri: string): { ok: true; trustDomain: string; segments: string[] } | Refusal {
  if (uri.length > MAX_ID_LENGTH)
    return refuse("spiffe-id-invalid", `SPIFFE ID longer than ${MAX_ID_LENGTH}`);
  if (!uri.startsWith("spiffe://")) {
    return refuse("spiffe-id-invalid", `${JSON.stringify(uri)}: a SPIFFE ID starts with spiffe://`);
  }
  const rest = uri.slice("spiffe://".length);
  const slash = rest.indexOf("/");
  const trustDomain = slash === -1 ? rest : rest.slice(0, slash);
  const problem = checkTrustDomain(trustDomain);
  if (problem) return refuse("spiffe-id-invalid", `${JSON.stringify(uri)}: trust domain ${problem}`);
  const path = slash === -1 ? "" : rest.slice(slash + 1);
  const segments = path === "" ? [] : path.split("/");
  for (const segment of segments) {
    if (!SEGMENT.test(segment) || segment === "." || segment === "..") {
      return refuse(
        "spiffe-id-invalid",
        `${JSON.stringify(uri)}: path segment ${JSON.stringify(segment)} must be non-empty [A-Za-z0-9._-] and not . or ..`,
      );
    }
  }
  return { ok: true, trustDomain, segments };
}

/** Parses a workload SPIFFE ID of the form `spiffe://td/ns/<ns>/sa/<sa>`. */
export function parseWorkloadId(uri: string): { ok: true; id: WorkloadId } | Refusal {
  const parsed = parseSpiffeId(uri);
  if (!parsed.ok) return parsed;
  const [ns, namespace, sa, serviceAccount, ...extra] = parsed.segments;
  if (ns !== "ns" || sa !== "sa" || !namespace || !serviceAccount || extra.length > 0) {
    return refuse(
      "spiffe-id-invalid",
      `${JSON.stringify(uri)}: expected spiffe://<trust-domain>/ns/<namespace>/sa/<service-account>`,
    );
  }
  return { ok: true, id: { trustDomain: parsed.trustDomain, namespace, serviceAccount } };
}
