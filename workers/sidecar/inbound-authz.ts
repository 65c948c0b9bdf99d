import type { Logger } from "../../broker/logger.ts";
import type { AuthzObservation } from "../../broker/proxy-report.ts";
import type { Snapshot } from "../../control/compile/snapshot.ts";
import { authorizeWithExtAuthz } from "../engine/authorize.ts";
import {
  type AuthzCounters,
  countDecision,
  createAuthzCounters,
  denialDetails,
} from "../engine/authz-counters.ts";
import type { AuthzDecision, AuthzFacts, PeerIdentity } from "../engine/authz-facts.ts";
import { createAuthzTableCache } from "../engine/authz-table.ts";
import { checkExternally, type ExtAuthzTransport } from "../engine/ext-authz.ts";
import {
  createJwksCache,
  type JwksCache,
  type JwksCacheDeps,
  type JwksCacheStats,
} from "../engine/jwks-cache.ts";
import { authenticateRequest, createAuthnTableCache, type HeaderChanges } from "../engine/request-authn.ts";
import { createExtAuthzTransport } from "./ext-authz-client.ts";
import { respondLocally } from "./local-response.ts";
import type { Handler, Layer, ProxyContext } from "./proxy-context.ts";

/** Counters of inbound request authentication and authorization (shown in sidecar stats). */
export interface InboundAuthzStats extends AuthzCounters {
  allowed: number;
  /** 403 `RBAC` and CUSTOM denials (`UAEX`). */
  denied: number;
  /** 401: a JWT was presented and failed verification. */
  jwtRejected: number;
  /** Requests a dry-run policy would have decided differently. */
  dryRunMismatch: number;
  /** Requests an AUDIT policy marked. */
  audited: number;
}

/** Zeroed counters. */
export function createInboundAuthzStats(): InboundAuthzStats {
  return { allowed: 0, denied: 0, jwtRejected: 0, dryRunMismatch: 0, audited: 0, ...createAuthzCounters() };
}

/**
 * The sidecar's inbound authz dependencies: a JWKS cache over `fetch` (global fetch by default),
 * fresh counters, and a `report()` for stats.
 *
 * @example
 * ```ts
 * const authz = createInboundAuthz({ snapshot: () => policy.current().snapshot, appPort: 9080, log });
 * createInboundPipeline({ ...deps, authz });
 * ```
 */
export function createInboundAuthz(options: {
  snapshot: () => Snapshot;
  appPort: number;
  log: Logger;
  fetch?: JwksCacheDeps["fetch"];
  now?: () => number;
  /** The connection's authenticated peer (mTLS, `mesh-tls.ts`). */
  peerIdentity?: InboundAuthzDeps["peerIdentity"];
  /** CUSTOM policies' authorizer calls; default HTTP to the provider's service (ext-authz-client.ts). */
  extAuthz?: ExtAuthzTransport;
}): InboundAuthzDeps & { report(): InboundAuthzStats & { jwks: JwksCacheStats } } {
  const now = options.now ?? Date.now;
  const jwks = createJwksCache({ fetch: options.fetch ?? ((url, init) => fetch(url, init)), now });
  const stats = createInboundAuthzStats();
  return {
    snapshot: options.snapshot,
    jwks,
    now,
    appPort: options.appPort,
    stats,
    log: options.log,
    extAuthz: options.extAuthz ?? createExtAuthzTransport(options.snapshot),
    ...(options.peerIdentity ? { peerIdentity: options.peerIdentity } : {}),
    report: () => ({
      ...stats,
      extAuthz: { ...stats.extAuthz },
      policies: structuredClone(stats.policies),
      jwks: { ...jwks.stats },
    }),
  };
}

/** What {@link authorizeInbound} needs. */
export interface InboundAuthzDeps {
  /** The snapshot current for this request. */
  snapshot: () => Snapshot;
  jwks: JwksCache;
  now: () => number;
  /** The local app's port: Istio's `destination.port` on inbound is the workload port. */
  appPort: number;
  stats: InboundAuthzStats;
  log: Logger;
  /** Calls CUSTOM policies' external authorizers. */
  extAuthz: ExtAuthzTransport;
  /**
   * The authenticated peer of the connection: the SPIFFE ID of a verified mTLS client certificate
   * (`peerIdentityOf` in `mesh-tls.ts`). Absent (plaintext, or no identity wired) the request is
   * evaluated as coming from an unauthenticated peer: `principals`, `namespaces` and
   * `serviceAccounts` rules never match (ALLOW rules on them deny; DENY rules on their `not*` forms
   * deny). A caller-supplied header is deliberately NOT trusted for this: anyone who can reach the
   * inbound port could forge it.
   */
  peerIdentity?: (ctx: ProxyContext) => PeerIdentity | undefined;
}

/**
 * Inbound RequestAuthentication + AuthorizationPolicy, as Envoy's jwt_authn, ext_authz and RBAC
 * filters do for Istio: an invalid JWT answers 401; a matching CUSTOM policy asks its external
 * authorizer (a denial answers with the authorizer's status, body and allowed headers, flag
 * `UAEX`; an unreachable authorizer answers `statusOnError` unless `failOpen`); then a DENY or
 * missing ALLOW answers 403 `RBAC: access denied` with flag `RBAC`. Dry-run and AUDIT results are
 * logged and counted (per policy, like Envoy's shadow stats), never enforced. The policy and rule
 * that decided are logged and counted, not sent to the caller.
 *
 * @example
 * ```ts
 * compose([resolveTarget(), authorizeInbound({ snapshot, jwks, now: Date.now, appPort, stats, log })], forward);
 * ```
 */
export function authorizeInbound(deps: InboundAuthzDeps): Layer {
  const authzTables = createAuthzTableCache();
  const authnTables = createAuthnTableCache();
  const authorize = async (ctx: ProxyContext, next: Handler, snapshot: Snapshot) => {
    const headers = flatHeaders(ctx);
    const authn = await authenticateRequest(
      authnTables.tableFor(snapshot),
      { headers, path: ctx.path },
      { jwks: deps.jwks, now: deps.now },
    );
    if (authn.kind === "rejected") {
      deps.stats.jwtRejected++;
      deps.log.debug(
        `inbound ${ctx.req.method} ${ctx.path}: 401 ${authn.reason} (${authn.rule ?? "no rule"})`,
      );
      respondLocally(ctx, 401, undefined, authn.reason, {
        "www-authenticate": 'Bearer realm="jibe", error="invalid_token"',
      });
      return;
    }
    applyHeaderChanges(ctx, authn.headers);
    const socket = ctx.req.socket;
    const facts: AuthzFacts = {
      protocol: "http",
      host: ctx.authority,
      method: ctx.req.method ?? "GET",
      path: ctx.path,
      headers,
      sourceIp: socket.remoteAddress,
      destinationIp: socket.localAddress,
      destinationPort: deps.appPort,
    };
    const peer = deps.peerIdentity?.(ctx);
    if (peer) facts.peer = peer;
    if (authn.kind === "authenticated") facts.request = authn.identity;
    const decision = await authorizeWithExtAuthz(authzTables.tableFor(snapshot), facts, (provider, f) =>
      checkExternally(provider, f, deps.extAuthz),
    );
    countInboundDecision(deps.stats, decision);
    const what = `inbound ${facts.method} ${ctx.authority}${ctx.path}`;
    if (decision.audit) {
      deps.log.info(`${what}: audited by ${decision.audit.policy}#${decision.audit.rule}`);
    }
    if (decision.dryRun && decision.dryRun.allowed !== decision.allowed) {
      const by = decision.dryRun.match
        ? ` by ${decision.dryRun.match.policy}#${decision.dryRun.match.rule}`
        : "";
      deps.log.info(
        `${what}: dry-run would ${decision.dryRun.allowed ? "allow" : "deny"} (${decision.dryRun.reason}${by}); enforced: ${decision.allowed ? "allow" : "deny"}`,
      );
    }
    if (!decision.allowed) {
      const by = decision.match
        ? `${decision.match.policy}#${decision.match.rule}`
        : "no ALLOW policy matched";
      deps.log.debug(`${what}: denied (${decision.reason}: ${by})`);
      denyRequest(ctx, decision);
      return;
    }
    if (decision.extAuthz?.kind === "allowed") {
      Object.assign(ctx.upstreamHeaders, decision.extAuthz.upstreamHeaders);
      Object.assign(ctx.responseHeaders, decision.extAuthz.downstreamHeaders);
    }
    return next(ctx);
  };
  // Without any policy in force a request passes straight on, without an async step.
  return (next) => (ctx) => {
    const snapshot = deps.snapshot();
    return snapshot.authz ? authorize(ctx, next, snapshot) : next(ctx);
  };
}

/**
 * Counts one inbound decision (an HTTP request's or a TCP connection's): per policy, including
 * dry-run shadow decisions and AUDIT marks, and in the totals.
 *
 * @example
 * ```ts
 * countInboundDecision(authz.stats, authorize(table, facts));
 * ```
 */
export function countInboundDecision(stats: InboundAuthzStats, decision: AuthzDecision): void {
  countDecision(stats, decision);
  if (decision.audit) stats.audited++;
  if (decision.dryRun && decision.dryRun.allowed !== decision.allowed) stats.dryRunMismatch++;
  if (decision.allowed) stats.allowed++;
  else stats.denied++;
}

/**
 * The counters as a proxy reports them to the control plane (`GET /api/v1/proxies`, `jibe authz stats`).
 *
 * @example
 * ```ts
 * const report: ProxyReport = { ...rest, authz: authzObservation(authz.report()) };
 * ```
 */
export function authzObservation(stats: InboundAuthzStats): AuthzObservation {
  return {
    allowed: stats.allowed,
    denied: stats.denied,
    jwtRejected: stats.jwtRejected,
    dryRunMismatch: stats.dryRunMismatch,
    policies: structuredClone(stats.policies),
    extAuthz: { ...stats.extAuthz },
  };
}

/** Answers a denial as Envoy does: ext_authz's own answer (`UAEX`) or RBAC's 403 (`RBAC`). */
function denyRequest(ctx: ProxyContext, decision: AuthzDecision): void {
  const ext = decision.extAuthz;
  ctx.responseCodeDetails = denialDetails(decision);
  if (ext?.kind === "denied") {
    respondLocally(ctx, ext.status, "UAEX", ext.body, ext.headers);
    return;
  }
  if (ext?.kind === "error") {
    respondLocally(ctx, ext.status, "UAEX", "");
    return;
  }
  respondLocally(ctx, 403, "RBAC", "RBAC: access denied");
}

function flatHeaders(ctx: ProxyContext): Record<string, string | undefined> {
  const out: Record<string, string | undefined> = {};
  for (const [name, value] of Object.entries(ctx.req.headers)) {
    out[name] = Array.isArray(value) ? value.join(", ") : value;
  }
  return out;
}

function applyHeaderChanges(ctx: ProxyContext, changes: HeaderChanges): void {
  for (const name of changes.remove) delete ctx.upstreamHeaders[name];
  for (const [name, value] of Object.entries(changes.set)) ctx.upstreamHeaders[name] = value;
}
