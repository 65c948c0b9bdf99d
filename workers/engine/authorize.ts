import type { ExtAuthzProvider } from "../../control/compile/authz-snapshot.ts";
import type { AuthzDecision, AuthzFacts, AuthzMatch, AuthzVerdict } from "./authz-facts.ts";
import { collectCandidates, collectIpCandidates } from "./authz-index.ts";
import type { RequestView } from "./authz-rules.ts";
import type { ActionGroup, AuthzTable, IndexedRule, PolicyGroups, RuleIndex } from "./authz-table.ts";
import { principalParts, readAddress } from "./authz-values.ts";
import type { ExtAuthzOutcome } from "./ext-authz.ts";
import { normalizePath } from "./path-normalize.ts";

/**
 * Decides whether a request may proceed, in Istio's order: a matching CUSTOM policy hands the
 * request to its provider (here, without one, that is reported as a `custom` denial; see
 * {@link authorizeWithExtAuthz}); then a matching DENY policy denies; with no ALLOW policy the
 * request is allowed; a matching ALLOW policy allows; otherwise it is denied. AUDIT policies only
 * report. Dry-run policies are evaluated in a second pass and reported in `dryRun`, never
 * enforced. Pure and synchronous. `customAllowed`: the provider already allowed the request.
 *
 * @example
 * ```ts
 * const decision = authorize(buildAuthzTable(snapshot.authz), { protocol: "http", method: "GET", path: "/info" });
 * if (!decision.allowed) respond(403, "RBAC: access denied"); // decision.match names policy and rule
 * ```
 */
export function authorize(table: AuthzTable, facts: AuthzFacts, customAllowed = false): AuthzDecision {
  if (table.empty) return { allowed: true, reason: "no-policy" };
  const view = viewOf(facts);
  const decision: AuthzDecision = evaluate(table.enforced, view, customAllowed);
  const audit = firstMatch(table.enforced.audit, view);
  if (audit) decision.audit = matchOf(audit);
  if (table.withDryRun) decision.dryRun = evaluate(table.withDryRun, view, customAllowed);
  return decision;
}

/** Asks a CUSTOM policy's provider about the request (the adapter's transport, see ext-authz.ts). */
export type ExtAuthzAsk = (provider: ExtAuthzProvider, facts: AuthzFacts) => Promise<ExtAuthzOutcome>;

/**
 * {@link authorize} with CUSTOM policies enforced: when one matches, `ask` consults its provider
 * first. A denial (or a failure without `failOpen`) decides, reported as reason `custom` with
 * `extAuthz` saying what the proxy must answer; an allow continues to DENY and ALLOW policies, and
 * `extAuthz` carries the headers to add. The engine stays pure: `ask` does the I/O.
 *
 * @example
 * ```ts
 * const decision = await authorizeWithExtAuthz(table, facts, (p, f) => checkExternally(p, f, transport));
 * ```
 */
export async function authorizeWithExtAuthz(
  table: AuthzTable,
  facts: AuthzFacts,
  ask: ExtAuthzAsk,
): Promise<AuthzDecision> {
  const first = authorize(table, facts);
  if (first.reason !== "custom") return first;
  const provider = first.provider === undefined ? undefined : table.providers[first.provider];
  // The compiler turns CUSTOM policies without a usable provider into DENY, so this is a bug guard.
  if (!provider) return first;
  const outcome = await ask(provider, facts);
  if (outcome.kind === "denied" || outcome.kind === "error") return { ...first, extAuthz: outcome };
  return { ...authorize(table, facts, true), extAuthz: outcome };
}

function evaluate(groups: PolicyGroups, view: RequestView, customAllowed: boolean): AuthzVerdict {
  const custom = customAllowed ? undefined : firstMatch(groups.custom, view);
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
  const found: number[] = [];
  if (index.principal.size > 0 && view.peerPrincipal !== undefined)
    collectCandidates(index.principal, view.peerPrincipal, found);
  if (index.namespace.size > 0 && view.peerNamespace !== undefined)
    collectCandidates(index.namespace, view.peerNamespace, found);
  if (index.host.size > 0 && view.host !== undefined) {
    collectCandidates(index.host, view.host, found);
    if (view.hostWithoutPort !== view.host && view.hostWithoutPort !== undefined)
      collectCandidates(index.host, view.hostWithoutPort, found);
  }
  if (index.path.size > 0 && view.path !== undefined) collectCandidates(index.path, view.path, found);
  if (index.method.size > 0 && view.facts.method !== undefined)
    collectCandidates(index.method, view.facts.method, found);
  if (index.sourceIp.size > 0 && view.sourceIp) collectIpCandidates(index.sourceIp, view.sourceIp, found);
  if (index.remoteIp.size > 0 && view.remoteIp) collectIpCandidates(index.remoteIp, view.remoteIp, found);
  for (const condition of index.conditions) {
    const value = condition.read(view);
    if (typeof value === "string") collectCandidates(condition.index, value, found);
    else if (value) for (const item of value) collectCandidates(condition.index, item, found);
  }
  if (found.length === 0) return index.always;
  // Policy order decides which match is reported; a rule found twice (host with and without port) counts once.
  for (const ordinal of index.always) found.push(ordinal);
  found.sort((a, b) => a - b);
  let kept = 1;
  for (let i = 1; i < found.length; i++) if (found[i] !== found[kept - 1]) found[kept++] = found[i]!;
  found.length = kept;
  return found;
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
