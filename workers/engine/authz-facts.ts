import type { ExtAuthzOutcome } from "./ext-authz.ts";

/**
 * What the authorization engine sees of one request or connection. Adapters (sidecar, edge) fill
 * it in; the engine never reads sockets or headers itself.
 */

/** The authenticated peer (mTLS). `principal` is the SPIFFE id without `spiffe://`. */
export interface PeerIdentity {
  /** e.g. `cluster.local/ns/default/sa/sleep`. */
  principal: string;
}

/** The identity a verified JWT gave the request (RequestAuthentication). */
export interface RequestIdentity {
  /** `<iss>/<sub>`, as `requestPrincipals` and `request.auth.principal` match it. */
  principal: string;
  audiences: readonly string[];
  /** `azp` claim. */
  presenter?: string;
  claims: Readonly<Record<string, unknown>>;
}

/**
 * Facts of one request (`protocol: "http"`) or TCP connection (`"tcp"`: HTTP fields are absent).
 *
 * @example
 * ```ts
 * const facts: AuthzFacts = { protocol: "http", host: "httpbin.foo:8000", method: "GET", path: "/info",
 *   headers: {}, sourceIp: "10.0.0.7", remoteIp: "10.0.0.7", destinationPort: 8000 };
 * ```
 */
export interface AuthzFacts {
  protocol: "http" | "tcp";
  /** Host / :authority as sent (port included if it was). */
  host?: string;
  method?: string;
  /** Request path; the query string and fragment are ignored, the path is normalised (RFC 3986). */
  path?: string;
  /** Lower-case header names. */
  headers?: Readonly<Record<string, string | undefined>>;
  /** Direct peer address (`source.ip`, `ipBlocks`). */
  sourceIp?: string;
  /** Original client address (`remote.ip`, `remoteIpBlocks`); defaults to `sourceIp`. */
  remoteIp?: string;
  destinationIp?: string;
  destinationPort?: number;
  /** TLS server name (`connection.sni`). */
  sni?: string;
  /** Absent: the peer is not authenticated (plaintext), so principal rules see "no principal". */
  peer?: PeerIdentity;
  /** Absent: no JWT was presented. */
  request?: RequestIdentity;
}

/** A policy rule that matched: `AuthorizationPolicy/<ns>/<name>` and the rule's index. */
export interface AuthzMatch {
  policy: string;
  rule: number;
}

/**
 * The decision and why:
 * - `no-policy`: nothing applies to this workload (allowed)
 * - `custom`: a CUSTOM policy matched and its external authorizer denied or failed (without an
 *   authorizer, as in `jibe authz check`, it means "the provider decides")
 * - `deny`: a DENY policy matched
 * - `no-allow-policy`: no ALLOW policy exists (allowed)
 * - `allow`: an ALLOW policy matched
 * - `no-allow-match`: ALLOW policies exist and none matched (denied)
 */
export type AuthzReason = "no-policy" | "custom" | "deny" | "no-allow-policy" | "allow" | "no-allow-match";

/** One evaluation's outcome. */
export interface AuthzVerdict {
  allowed: boolean;
  reason: AuthzReason;
  /** The policy and rule that decided (absent for `no-policy`, `no-allow-policy`, `no-allow-match`). */
  match?: AuthzMatch;
  /** CUSTOM: the extension provider named by the deciding policy. */
  provider?: string;
}

/** The enforced decision, plus what AUDIT and dry-run policies report. */
export interface AuthzDecision extends AuthzVerdict {
  /** An AUDIT policy matched (the request should be audited); never changes `allowed`. */
  audit?: AuthzMatch;
  /** Present when dry-run policies apply: the decision had they been enforced. */
  dryRun?: AuthzVerdict;
  /** A CUSTOM policy matched and its provider was asked: what it answered. */
  extAuthz?: ExtAuthzOutcome;
}
