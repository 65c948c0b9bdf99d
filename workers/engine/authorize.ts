import type { AuthzDecision, AuthzFacts, AuthzMatch, AuthzVerdict } from "./authz-facts.ts";
import type { RequestView } from "./authz-rules.ts";
import type { ActionGroup, AuthzTable, IndexedRule, PolicyGroups, RuleIndex } from "./authz-table.ts";
import { principalParts, readAddress } from "./authz-values.ts";
import { normalizePath } from "./path-normalize.ts";

/**
 * Decides whether a request may proceed, in Istio's order: a matching CUSTOM policy denies (Jibe
 * has no external authorizer yet, so it fails closed); then a matching DENY policy denies; with no
 * ALLOW policy the request is allowed; a matching ALLOW policy allows; otherwise it is denied.
 * AUDIT policies only report. Dry-run policies are evaluated in a second pass and reported in
 * `dryRun`, never enforced. Pure and synchronous.
 *
 * @example
 * ```ts
 * const decision = authorize(buildAuthzTable(snapshot.authz), { protocol: "http", method: "GET", path: "/info" });
 * if (!decision.allowed) respond(403, "RBAC: access denied"); // decision.match names policy and rule
 * ```
 */
export function authorize(table: AuthzTable, facts: AuthzFacts): AuthzDecision {
  if (table.empty) return { allowed: true, reason: "no-policy" };
  const view = viewOf(facts);
  const decision: AuthzDecision = evaluate(table.enforced, view);
  const audit = firstMatch(table.enforced.audit, view);
  if (audit) decision.audit = matchOf(audit);
  if (table.withDryRun) decision.dryRun = evaluate(table.withDryRun, view);
  return decision;
}

function evaluate(groups: PolicyGroups, view: RequestView): AuthzVerdict {
  const custom = firstMatch(groups.custom, view);
  if (custom) {
    const verdict: AuthzVerdict = { allowed: false, reason: "custom", match: matchOf(custom) };
    if (custom.provider) verdict.provider = custom.provider;
    return verdict;
  }
  const deny = firstMatch(groups.deny, view);
  if (deny) return { allowed: false, reason: "deny", match: matchOf(deny) };
  if (groups.allow.policies === 0) return { allowed: true, reason: "no-allow-policy" };
  const allow = firstMatch(groups.allow, view);
  if (allow) return { allowed: true, reason: "allow", match: matchOf(allow) };
  return { allowed: false, reason: "no-allow-match" };
}

function matchOf(rule: IndexedRule): AuthzMatch {
  return { policy: rule.policy, rule: rule.rule };
}

/** The first rule (in policy order) that matches, trying only the rules the index cannot rule out. */
function firstMatch(group: ActionGroup, view: RequestView): IndexedRule | undefined {
  const index = view.facts.protocol === "http" ? group.http : group.tcp;
  if (index.rules.length === 0) return undefined;
  const candidates = candidatesOf(index, view);
  for (let i = 0; i < candidates.length; i++) {
    const rule = index.rules[candidates[i]!]!;
    if (rule.test(view)) return rule;
  }
  return undefined;
}

function candidatesOf(index: RuleIndex, view: RequestView): readonly number[] {
  let merged: number[] | undefined;
  const add = (hit: readonly number[] | undefined) => {
    if (!hit) return;
    merged ??= [...index.always];
    for (const ordinal of hit) merged.push(ordinal);
  };
  const principal = view.peerPrincipal;
  if (principal !== undefined) {
    add(index.principal.get(principal));
    if (index.principalPrefix.size > 0)
      for (let i = principal.indexOf("/"); i !== -1; i = principal.indexOf("/", i + 1))
        add(index.principalPrefix.get(principal.slice(0, i + 1)));
  }
  if (view.peerNamespace !== undefined) add(index.namespace.get(view.peerNamespace));
  for (const host of view.hostWithoutPort === view.host ? [view.host] : [view.host, view.hostWithoutPort]) {
    if (host === undefined) continue;
    add(index.host.get(host));
    if (index.hostSuffix.size > 0)
      for (let i = host.indexOf("."); i !== -1; i = host.indexOf(".", i + 1))
        add(index.hostSuffix.get(host.slice(i)));
  }
  if (!merged) return index.always;
  // Policy order decides which match is reported; a rule found twice (host with and without port) counts once.
  const sorted = merged.sort((a, b) => a - b);
  return sorted.filter((v, i) => i === 0 || sorted[i - 1] !== v);
}

function viewOf(facts: AuthzFacts): RequestView {
  const principal = facts.peer?.principal.replace(/^spiffe:\/\//, "");
  const { namespace, serviceAccount } = principalParts(principal);
  const host = facts.host?.toLowerCase();
  const hostWithoutPort = host === undefined ? undefined : stripPort(host);
  return {
    facts,
    path: facts.path === undefined ? undefined : normalizePath(facts.path),
    host,
    hostWithoutPort,
    port: facts.destinationPort === undefined ? undefined : String(facts.destinationPort),
    peerPrincipal: principal,
    peerNamespace: namespace,
    peerServiceAccount: serviceAccount,
    sourceIp: readAddress(facts.sourceIp),
    remoteIp: readAddress(facts.remoteIp ?? facts.sourceIp),
    destinationIp: readAddress(facts.destinationIp),
  };
}

function stripPort(host: string): string {
  if (host.startsWith("[")) {
    const end = host.indexOf("]");
    return end === -1 ? host : host.slice(0, end + 1);
  }
  const colon = host.lastIndexOf(":");
  return colon === -1 || host.indexOf(":") !== colon ? host : host.slice(0, colon);
}
