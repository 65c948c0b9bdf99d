import type { StoredResource } from "../../broker/events.ts";
import { authorize } from "../../workers/engine/authorize.ts";
import type {
  AuthzDecision,
  AuthzFacts,
  AuthzMatch,
  AuthzVerdict,
} from "../../workers/engine/authz-facts.ts";
import { buildAuthzTable } from "../../workers/engine/authz-table.ts";
import type { JwksCache } from "../../workers/engine/jwks-cache.ts";
import { authenticateRequest, buildAuthnTable, identityOf } from "../../workers/engine/request-authn.ts";
import { compile } from "../compile/compile.ts";
import type { Diagnostic, ProxyIdentity } from "../compile/snapshot.ts";

/**
 * "May A call B with this request?": the question `POST /api/v1/authz/check` and `jibe authz check`
 * answer. `target` is the called workload (its namespace and pod labels), `source` the caller.
 */
export interface AuthzCheckRequest {
  target: { namespace: string; labels: Record<string, string> };
  source: {
    /** Peer SPIFFE id (`spiffe://cluster.local/ns/default/sa/sleep`); absent: a plaintext peer. */
    principal?: string;
    ip?: string;
  };
  request: {
    protocol: "http" | "tcp";
    method: string;
    path: string;
    host?: string;
    /** The workload port (`destination.port`, `to.operation.ports`). */
    port?: number;
    /** Lower-case names. */
    headers: Record<string, string>;
  };
  /** A JWT, verified against the workload's RequestAuthentication rules as the proxy would. */
  jwt?: string;
  /** Claims of an already-verified JWT (`iss`, `sub`, `aud`, ...): skips verification. */
  claims?: Record<string, unknown>;
}

/** The JSON body of `POST /api/v1/authz/check`: {@link AuthzCheckRequest} with defaults left out. */
export interface AuthzCheckBody {
  /** `namespace` defaults to `default`, `labels` to none. */
  target: { namespace?: string; labels?: Record<string, string> };
  source?: { principal?: string; ip?: string };
  /** Defaults: `http`, `GET`, `/`, no host, no port, no headers. */
  request?: Partial<AuthzCheckRequest["request"]>;
  jwt?: string;
  claims?: Record<string, unknown>;
}

/** How the request was authenticated before authorization. */
export type AuthzCheckAuthn =
  | { kind: "none" }
  | { kind: "anonymous" }
  | { kind: "authenticated"; principal: string; rule?: string }
  | { kind: "rejected"; reason: string; rule?: string };

/** A policy that applies to the target workload. */
export interface AppliedPolicy {
  ref: string;
  action: string;
  dryRun?: boolean;
  failClosed?: string;
}

/** The answer: the enforced decision, who decided, and what AUDIT / dry-run policies report. */
export interface AuthzCheckResult {
  /** The highest store revision among the resources the answer was computed from. */
  revision: number;
  allowed: boolean;
  /** What the proxy answers: 200 (passed on), 403 (`RBAC: access denied`), 401 (invalid JWT). */
  status: 200 | 401 | 403;
  reason: AuthzDecision["reason"] | "jwt-rejected";
  /** The policy (`AuthorizationPolicy/<ns>/<name>`) and rule index that decided, when one did. */
  match?: AuthzMatch;
  provider?: string;
  audit?: AuthzMatch;
  dryRun?: AuthzVerdict;
  authentication: AuthzCheckAuthn;
  /** Every policy that applies to the target, ordered by ref. */
  policies: AppliedPolicy[];
  /** Compile diagnostics about security resources (an invalid policy fails closed). */
  diagnostics: Diagnostic[];
}

/**
 * Compiles `resources` for a sidecar with the target's namespace and labels, then runs the engine's
 * request authentication and `authorize` on the request, exactly as that sidecar's inbound path would.
 * Pure apart from JWKS fetches through `jwks`.
 *
 * @example
 * ```ts
 * const result = await checkAuthz(resources, 12, {
 *   target: { namespace: "default", labels: { app: "reviews" } },
 *   source: { principal: "spiffe://cluster.local/ns/default/sa/sleep" },
 *   request: { protocol: "http", method: "GET", path: "/reviews/0", headers: {} },
 * }, { jwks, now: Date.now });
 * result.allowed; result.match; // { policy: "AuthorizationPolicy/default/reviews", rule: 0 }
 * ```
 */
export async function checkAuthz(
  resources: Iterable<StoredResource>,
  revision: number,
  check: AuthzCheckRequest,
  deps: { jwks: JwksCache; now: () => number },
): Promise<AuthzCheckResult> {
  const { snapshot, diagnostics } = compile(resources, proxyFor(check.target), revision);
  const policies = (snapshot.authz?.policies ?? []).map(
    (p): AppliedPolicy => ({
      ref: p.ref,
      action: p.action,
      ...(p.dryRun ? { dryRun: true } : {}),
      ...(p.failClosed ? { failClosed: p.failClosed } : {}),
    }),
  );
  const base = {
    revision,
    policies,
    diagnostics: diagnostics.filter((d) => /^(AuthorizationPolicy|RequestAuthentication)\//.test(d.resource)),
  };
  const { request } = check;
  // As on the wire: a JWT travels in `Authorization`, which `when` conditions on headers can see.
  const headers =
    check.jwt === undefined ? request.headers : { ...request.headers, authorization: `Bearer ${check.jwt}` };
  const facts: AuthzFacts = { protocol: request.protocol };
  if (request.protocol === "http") {
    facts.method = request.method.toUpperCase();
    facts.path = request.path;
    facts.headers = headers;
    if (request.host !== undefined) facts.host = request.host;
  }
  if (request.port !== undefined) facts.destinationPort = request.port;
  if (check.source.ip !== undefined) facts.sourceIp = check.source.ip;
  if (check.source.principal !== undefined)
    facts.peer = { principal: check.source.principal.replace(/^spiffe:\/\//, "") };

  let authentication: AuthzCheckAuthn = { kind: "none" };
  if (check.claims) {
    facts.request = identityOf(check.claims);
    authentication = { kind: "authenticated", principal: facts.request.principal };
  } else if (check.jwt !== undefined) {
    const authn = await authenticateRequest(
      buildAuthnTable(snapshot.authz),
      { headers, path: request.path },
      deps,
    );
    if (authn.kind === "rejected") {
      const rejected = { kind: "rejected" as const, reason: authn.reason, ...ruleOf(authn.rule) };
      return { ...base, allowed: false, status: 401, reason: "jwt-rejected", authentication: rejected };
    }
    if (authn.kind === "authenticated") {
      facts.request = authn.identity;
      authentication = { kind: "authenticated", principal: authn.identity.principal, rule: authn.rule };
    } else {
      authentication = { kind: "anonymous" };
    }
  }

  const decision = authorize(buildAuthzTable(snapshot.authz), facts);
  return { ...base, ...decision, status: decision.allowed ? 200 : 403, authentication };
}

function proxyFor(target: AuthzCheckRequest["target"]): ProxyIdentity {
  const app = target.labels.app ?? "workload";
  return {
    id: `sidecar~${app}~${target.namespace}`,
    role: "sidecar",
    namespace: target.namespace,
    labels: target.labels,
  };
}

function ruleOf(rule: string | undefined): { rule?: string } {
  return rule === undefined ? {} : { rule };
}
