import type { AuthzDecision } from "./authz-facts.ts";

/**
 * Authorization counters per policy, like Envoy's RBAC (`allowed`/`denied`, `shadow_allowed`/
 * `shadow_denied` for dry-run) and ext_authz (`ok`/`denied`/`error`/`failure_mode_allowed`) stats,
 * but named by the policy that decided. Plain data, so proxies expose it as JSON and Prometheus text.
 */

/** Counts for one policy (`AuthorizationPolicy/<ns>/<name>`, or {@link DEFAULT_DENY}). */
export interface PolicyCounts {
  /** Requests this policy allowed (an ALLOW rule matched; CUSTOM allows count in `extAuthz.ok`). */
  allowed: number;
  /** Requests this policy denied (DENY matched, or its CUSTOM provider denied or failed). */
  denied: number;
  /** Dry-run: requests this policy would have allowed. */
  shadowAllowed: number;
  /** Dry-run: requests this policy would have denied. */
  shadowDenied: number;
  /** AUDIT: requests it marked. */
  audited: number;
}

/** Key of denials no policy matched: ALLOW policies exist and none matched. */
export const DEFAULT_DENY = "(no ALLOW policy matched)";

/** Counters kept by a proxy. */
export interface AuthzCounters {
  /** External authorizer outcomes. */
  extAuthz: { ok: number; denied: number; error: number; failureModeAllowed: number };
  /** Dry-run decisions (whatever the enforced one was). */
  shadowAllowed: number;
  shadowDenied: number;
  policies: Record<string, PolicyCounts>;
}

/** Zeroed counters. */
export function createAuthzCounters(): AuthzCounters {
  return {
    extAuthz: { ok: 0, denied: 0, error: 0, failureModeAllowed: 0 },
    shadowAllowed: 0,
    shadowDenied: 0,
    policies: {},
  };
}

/**
 * Counts one decision.
 *
 * @example
 * ```ts
 * countDecision(counters, authorize(table, facts));
 * counters.policies["AuthorizationPolicy/foo/deny-admin"]?.denied; // 1
 * ```
 */
export function countDecision(counters: AuthzCounters, decision: AuthzDecision): void {
  const policy = (ref: string): PolicyCounts => {
    let counts = counters.policies[ref];
    if (!counts) {
      counts = { allowed: 0, denied: 0, shadowAllowed: 0, shadowDenied: 0, audited: 0 };
      counters.policies[ref] = counts;
    }
    return counts;
  };
  const ext = decision.extAuthz;
  if (ext) {
    if (ext.kind === "allowed") counters.extAuthz.ok++;
    else if (ext.kind === "denied") counters.extAuthz.denied++;
    else if (ext.kind === "error") counters.extAuthz.error++;
    else counters.extAuthz.failureModeAllowed++;
  }
  if (decision.match) policy(decision.match.policy)[decision.allowed ? "allowed" : "denied"]++;
  else if (decision.reason === "no-allow-match") policy(DEFAULT_DENY).denied++;
  if (decision.audit) policy(decision.audit.policy).audited++;
  const shadow = decision.dryRun;
  if (shadow) {
    if (shadow.allowed) counters.shadowAllowed++;
    else counters.shadowDenied++;
    const ref = shadow.match?.policy ?? (shadow.reason === "no-allow-match" ? DEFAULT_DENY : undefined);
    if (ref) policy(ref)[shadow.allowed ? "shadowAllowed" : "shadowDenied"]++;
  }
}

/**
 * The counters as Prometheus text: `jibe_authz_decisions_total{policy, decision}` with decision
 * `allowed`, `denied`, `shadow_allowed`, `shadow_denied` or `audited`, and
 * `jibe_ext_authz_total{outcome}`.
 *
 * @example
 * ```ts
 * const text = `${await telemetry.metricsText()}${authzCountersText(counters)}`;
 * ```
 */
export function authzCountersText(counters: AuthzCounters): string {
  const quote = (v: string) => v.replace(/\\/g, "\\\\").replace(/"/g, '\\"').replace(/\n/g, "\\n");
  const lines = [
    "# HELP jibe_authz_decisions_total Authorization decisions by the policy that decided (shadow_*: dry-run).",
    "# TYPE jibe_authz_decisions_total counter",
  ];
  const names: [keyof PolicyCounts, string][] = [
    ["allowed", "allowed"],
    ["denied", "denied"],
    ["shadowAllowed", "shadow_allowed"],
    ["shadowDenied", "shadow_denied"],
    ["audited", "audited"],
  ];
  for (const ref of Object.keys(counters.policies).sort()) {
    const counts = counters.policies[ref]!;
    for (const [field, label] of names)
      if (counts[field] > 0)
        lines.push(`jibe_authz_decisions_total{policy="${quote(ref)}",decision="${label}"} ${counts[field]}`);
  }
  lines.push(
    "# HELP jibe_ext_authz_total External authorizer (CUSTOM policy) outcomes.",
    "# TYPE jibe_ext_authz_total counter",
  );
  const ext = counters.extAuthz;
  for (const [outcome, value] of [
    ["ok", ext.ok],
    ["denied", ext.denied],
    ["error", ext.error],
    ["failure_mode_allowed", ext.failureModeAllowed],
  ] as const)
    lines.push(`jibe_ext_authz_total{outcome="${outcome}"} ${value}`);
  return `${lines.join("\n")}\n`;
}

/**
 * Envoy's response code details of a denial: `ext_authz_denied` / `ext_authz_error`, or
 * `rbac_access_denied_matched_policy[<policy>#<rule>]` (`[none]` when no ALLOW policy matched).
 *
 * @example
 * ```ts
 * denialDetails({ allowed: false, reason: "deny", match: { policy: "AuthorizationPolicy/foo/x", rule: 0 } });
 * // "rbac_access_denied_matched_policy[AuthorizationPolicy/foo/x#0]"
 * ```
 */
export function denialDetails(decision: AuthzDecision): string {
  if (decision.extAuthz?.kind === "denied") return "ext_authz_denied";
  if (decision.extAuthz?.kind === "error") return "ext_authz_error";
  const match = decision.match ? `${decision.match.policy}#${decision.match.rule}` : "none";
  return `rbac_access_denied_matched_policy[${match}]`;
}
