import { createLocalJWKSet, decodeJwt, type JWTPayload, type JWTVerifyGetKey, jwtVerify } from "jose";
import type { AuthzSnapshot, JwtRule } from "../../control/compile/authz-snapshot.ts";
import type { Snapshot } from "../../control/compile/snapshot.ts";
import type { RequestIdentity } from "./authz-facts.ts";
import type { JwksCache } from "./jwks-cache.ts";
import { type FoundToken, findTokens, type TokenSource } from "./jwt-locations.ts";

/** JWT rules of a snapshot with inline key sets parsed once. */
export interface AuthnTable {
  rules: readonly JwtRule[];
  inlineKeys: ReadonlyMap<JwtRule, JWTVerifyGetKey>;
  /** Header names a rule writes (payload, claims): removed from every request so clients cannot forge them. */
  outputHeaders: readonly string[];
}

/** Header changes for the request sent upstream. */
export interface HeaderChanges {
  set: Record<string, string>;
  remove: string[];
}

/**
 * Outcome of request authentication:
 * - `anonymous`: no token was presented (no identity; only policy can require one)
 * - `authenticated`: a token verified; `identity` feeds authorization
 * - `rejected`: a token was presented and is invalid → 401 (Envoy's message in `reason`)
 */
export type AuthnResult =
  | { kind: "anonymous"; headers: HeaderChanges }
  | { kind: "authenticated"; identity: RequestIdentity; rule: string; headers: HeaderChanges }
  | { kind: "rejected"; status: 401; reason: string; rule?: string };

/** What verification needs: the remote key cache and a clock. */
export interface AuthnDeps {
  jwks: JwksCache;
  now: () => number;
}

/** Builds the table for an authz section (inline JWKS parsed here, once per snapshot). */
export function buildAuthnTable(authz: AuthzSnapshot | undefined): AuthnTable {
  const rules = authz?.jwtRules ?? [];
  const inlineKeys = new Map<JwtRule, JWTVerifyGetKey>();
  const outputHeaders = new Set<string>();
  for (const rule of rules) {
    if (rule.jwks !== undefined) {
      try {
        inlineKeys.set(rule, createLocalJWKSet(JSON.parse(rule.jwks)));
      } catch {
        // Validated at apply time; if it still does not parse, tokens for this rule fail (401).
      }
    }
    if (rule.outputPayloadToHeader) outputHeaders.add(rule.outputPayloadToHeader);
    for (const o of rule.outputClaimToHeaders ?? []) outputHeaders.add(o.header);
  }
  return { rules, inlineKeys, outputHeaders: [...outputHeaders] };
}

/** Per-runtime cache of {@link AuthnTable}s keyed by the snapshot's authz object. */
export function createAuthnTableCache(): { tableFor(snapshot: Snapshot): AuthnTable } {
  const cache = new WeakMap<object, AuthnTable>();
  const none = buildAuthnTable(undefined);
  return {
    tableFor(snapshot) {
      if (!snapshot.authz) return none;
      let table = cache.get(snapshot.authz);
      if (!table) {
        table = buildAuthnTable(snapshot.authz);
        cache.set(snapshot.authz, table);
      }
      return table;
    },
  };
}

/**
 * Verifies the JWTs a request carries against the RequestAuthentication rules, as Envoy's
 * jwt_authn does for Istio: tokens are looked for in each rule's locations (default:
 * `Authorization: Bearer`, `?access_token=`); a token's `iss` picks the rule; signature, issuer,
 * audiences, `exp`/`nbf` are checked. No token → anonymous. Any invalid token → 401.
 *
 * @example
 * ```ts
 * const result = await authenticateRequest(table, { headers, path: "/x?y" }, { jwks, now: Date.now });
 * if (result.kind === "rejected") respond(401, result.reason);
 * ```
 */
export async function authenticateRequest(
  table: AuthnTable,
  source: TokenSource,
  deps: AuthnDeps,
): Promise<AuthnResult> {
  const headers: HeaderChanges = { set: {}, remove: [...table.outputHeaders] };
  if (table.rules.length === 0) return { kind: "anonymous", headers };
  const tokens = findTokens(table.rules, source);
  if (tokens.length === 0) return { kind: "anonymous", headers };
  let first: Extract<AuthnResult, { kind: "authenticated" }> | undefined;
  for (const found of tokens) {
    const result = await verifyToken(table, found, deps);
    if (result.kind === "rejected") return result;
    const { rule, payload } = result;
    applyOutputs(rule, found, payload, headers);
    first ??= { kind: "authenticated", identity: identityOf(payload), rule: rule.ref, headers };
  }
  return first!;
}

async function verifyToken(
  table: AuthnTable,
  found: FoundToken,
  deps: AuthnDeps,
): Promise<
  { kind: "verified"; rule: JwtRule; payload: JWTPayload } | Extract<AuthnResult, { kind: "rejected" }>
> {
  const reject = (reason: string, rule?: JwtRule) =>
    ({ kind: "rejected", status: 401, reason, ...(rule ? { rule: rule.ref } : {}) }) as const;
  const invalid = found.rules.find((r) => r.rejectAll !== undefined);
  if (invalid) return reject(`Jwt verification fails: ${invalid.rejectAll}`, invalid);
  let issuer: string | undefined;
  try {
    issuer = decodeJwt(found.token).iss;
  } catch {
    return reject("Jwt is not in the form of Header.Payload.Signature with two dots and 3 sections");
  }
  const rule = found.rules.find((r) => r.issuer === issuer);
  if (!rule) return reject("Jwt issuer is not configured");
  let key =
    rule.jwksUri === undefined
      ? table.inlineKeys.get(rule)
      : await deps.jwks.keysFor(rule.jwksUri, rule.timeoutMs);
  if (!key) return reject("Jwks remote fetch is failed", rule);
  for (let attempt = 0; ; attempt++) {
    try {
      const { payload } = await jwtVerify(found.token, key, {
        issuer: rule.issuer,
        ...(rule.audiences ? { audience: rule.audiences } : {}),
        currentDate: new Date(deps.now()),
      });
      return { kind: "verified", rule, payload };
    } catch (error) {
      const code = (error as { code?: string }).code;
      if (code === "ERR_JWKS_NO_MATCHING_KEY" && rule.jwksUri !== undefined && attempt === 0) {
        // The issuer may have rotated its keys: fetch again (rate-limited by the cache), retry once.
        const refreshed = await deps.jwks.refresh(rule.jwksUri, rule.timeoutMs);
        if (refreshed && refreshed !== key) {
          key = refreshed;
          continue;
        }
      }
      return reject(rejectReason(error), rule);
    }
  }
}

function rejectReason(error: unknown): string {
  const { code, claim } = error as { code?: string; claim?: string };
  if (code === "ERR_JWT_EXPIRED") return "Jwt is expired";
  if (code === "ERR_JWT_CLAIM_VALIDATION_FAILED" && claim === "aud")
    return "Audiences in Jwt are not allowed";
  if (code === "ERR_JWT_CLAIM_VALIDATION_FAILED" && claim === "nbf") return "Jwt not yet valid";
  return "Jwt verification fails";
}

/** The identity a verified JWT payload gives a request (`<iss>/<sub>`, audiences, `azp`, claims). */
export function identityOf(payload: JWTPayload): RequestIdentity {
  const aud = payload.aud === undefined ? [] : Array.isArray(payload.aud) ? payload.aud : [payload.aud];
  const identity: RequestIdentity = {
    principal: `${payload.iss ?? ""}/${payload.sub ?? ""}`,
    audiences: aud,
    claims: payload as Record<string, unknown>,
  };
  if (typeof payload.azp === "string") identity.presenter = payload.azp;
  return identity;
}

function applyOutputs(rule: JwtRule, found: FoundToken, payload: JWTPayload, headers: HeaderChanges): void {
  if (rule.outputPayloadToHeader) headers.set[rule.outputPayloadToHeader] = found.token.split(".")[1] ?? "";
  for (const { header, claim } of rule.outputClaimToHeaders ?? []) {
    const value = claimAt(payload, claim);
    if (typeof value === "string" || typeof value === "number" || typeof value === "boolean")
      headers.set[header] = String(value);
  }
  if (!rule.forwardOriginalToken && found.location.kind === "header")
    headers.remove.push(found.location.name);
}

/** A claim by name, or by `.`-separated path for nested claims. */
function claimAt(payload: JWTPayload, claim: string): unknown {
  if (claim in payload) return payload[claim];
  let value: unknown = payload;
  for (const segment of claim.split(".")) {
    if (typeof value !== "object" || value === null) return undefined;
    value = (value as Record<string, unknown>)[segment];
  }
  return value;
}
