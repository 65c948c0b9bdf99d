import type { ExtAuthzProvider } from "../../control/compile/authz-snapshot.ts";
import type { AuthzDecision, AuthzFacts, AuthzMatch, AuthzVerdict } from "./authz-facts.ts";
import { collectCandidates, collectIpCandidates } from "./authz-index.ts";
import type { RequestView } from "./authz-rules.ts";
import {
  type ActionGroup,
  type AuthzTable,
  type IndexedRule,
  nextEpoch,
  type PolicyGroups,
  type RuleIndex,
  type TermMemo,
} from "./authz-table.ts";
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
  const view = viewOf(facts, nextEpoch(table));
  const { memo } = table;
  const decision: AuthzDecision = evaluate(table.enforced, view, memo, customAllowed);
  const audit = firstMatch(table.enforced.audit, view, memo);
  if (audit) decision.audit = matchOf(audit);
  if (table.withDryRun) decision.dryRun = evaluate(table.withDryRun, view, memo, customAllowed);
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

function evaluate(
  groups: PolicyGroups,
  view: RequestView,
  memo: TermMemo,
  customAllowed: boolean,
): AuthzVerdict {
  const custom = customAllowed ? undefined : firstMatch(groups.custom, view, memo);
  if (custom) {
    const verdict: AuthzVerdict = { allowed: false, reason: "custom", match: matchOf(custom) };
    if (custom.provider) verdict.provider = custom.provider;
    return verdict;
  }
  const deny = firstMatch(groups.deny, view, memo);
  if (deny) return { allowed: false, reason: "deny", match: matchOf(deny) };
  if (groups.allow.policies === 0) return { allowed: true, reason: "no-allow-policy" };
  const allow = firstMatch(groups.allow, view, memo);
  if (allow) return { allowed: true, reason: "allow", match: matchOf(allow) };
  return { allowed: false, reason: "no-allow-match" };
}

function matchOf(rule: IndexedRule): AuthzMatch {
  return { policy: rule.policy, rule: rule.rule };
}

/** The first rule (in policy order) that matches, trying only the rules the index cannot rule out. */
function firstMatch(group: ActionGroup, view: RequestView, memo: TermMemo): IndexedRule | undefined {
  const index = view.facts.protocol === "http" ? group.http : group.tcp;
  if (index.rules.length === 0) return undefined;
  const found = collectAll(index, view);
  const rules = index.rules;
  if (found.length === 0) {
    const always = index.always;
    for (let i = 0; i < always.length; i++) {
      const rule = rules[always[i]!]!;
      if (rule.test(view)) return rule;
    }
    return undefined;
  }
  for (const ordinal of index.always) found.push(ordinal);
  if (found.length * 4 < rules.length) {
    // Few candidates: in policy order (which decides the match reported), each once (a rule can be
    // found twice: host with and without port).
    found.sort((a, b) => a - b);
    let previous = -1;
    for (let i = 0; i < found.length; i++) {
      const ordinal = found[i]!;
      if (ordinal === previous) continue;
      previous = ordinal;
      const rule = rules[ordinal]!;
      if (rule.test(view)) return rule;
    }
    return undefined;
  }
  // Many: mark them for this request and walk the rules in order, cheaper than sorting. A rule
  // one of whose shared terms already failed for this request is skipped without calling it.
  const { marks } = index;
  const epoch = view.epoch;
  for (let i = 0; i < found.length; i++) marks[found[i]!] = epoch;
  for (let ordinal = 0; ordinal < rules.length; ordinal++) {
    if (marks[ordinal] !== epoch || sharedTermFailed(index, ordinal, memo, epoch)) continue;
    const rule = rules[ordinal]!;
    if (rule.test(view)) return rule;
  }
  return undefined;
}

/** True when one of the rule's shared terms was already evaluated, false, for this request. */
function sharedTermFailed(index: RuleIndex, ordinal: number, memo: TermMemo, epoch: number): boolean {
  const { sharedStart, sharedIds } = index;
  const { stamps, values } = memo;
  const end = sharedStart[ordinal + 1]!;
  for (let k = sharedStart[ordinal]!; k < end; k++) {
    const id = sharedIds[k]!;
    if (stamps[id] === epoch && values[id] === 0) return true;
  }
  return false;
}

/** The rules the index keeps for the request's values, unordered, possibly repeated (`always` excluded). */
function collectAll(index: RuleIndex, view: RequestView): number[] {
  const found = index.scratch;
  found.length = 0;
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
  return found;
}

function viewOf(facts: AuthzFacts, epoch: number): RequestView {
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
    epoch,
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
