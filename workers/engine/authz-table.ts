import type { AuthzPolicy, AuthzRule, AuthzSnapshot } from "../../control/compile/authz-snapshot.ts";
import type { Snapshot } from "../../control/compile/snapshot.ts";
import { compileRule, type RuleMode, type RulePredicate } from "./authz-rules.ts";

/** One compiled rule and the policy it belongs to. */
export interface IndexedRule {
  policy: string;
  /** Index of the rule in its policy. */
  rule: number;
  provider?: string;
  test: RulePredicate;
}

/**
 * The rules of one action group for one protocol, in evaluation order (policy ref, then rule
 * index), with an inverted index: a rule whose every `from` source names principals that are exact
 * or end in `/*` (or exact namespaces), or whose every `to` operation names hosts that are exact or
 * start with `*.`, can only match a request carrying one of those values, so it is only tried for
 * such requests. Other rules are always tried.
 */
export interface RuleIndex {
  rules: IndexedRule[];
  always: number[];
  principal: Map<string, number[]>;
  /** Keys end in `/` (pattern `cluster.local/ns/foo/*` → `cluster.local/ns/foo/`). */
  principalPrefix: Map<string, number[]>;
  namespace: Map<string, number[]>;
  /** Lower-case. */
  host: Map<string, number[]>;
  /** Lower-case, keys start with `.` (pattern `*.example.com` → `.example.com`). */
  hostSuffix: Map<string, number[]>;
}

type IndexDimension = "principal" | "principalPrefix" | "namespace" | "host" | "hostSuffix";

/** One action group: its rules for HTTP and for TCP, and how many policies it has. */
export interface ActionGroup {
  http: RuleIndex;
  tcp: RuleIndex;
  /** Policies in the group (an ALLOW policy with no rules still counts: it makes deny the default). */
  policies: number;
}

/** Policies by action, enforced or dry-run. */
export interface PolicyGroups {
  custom: ActionGroup;
  deny: ActionGroup;
  allow: ActionGroup;
  audit: ActionGroup;
}

/** A snapshot's authz section, compiled for evaluation; see {@link buildAuthzTable}. */
export interface AuthzTable {
  /** True when no policy applies (every request is allowed without evaluation). */
  empty: boolean;
  enforced: PolicyGroups;
  /** Enforced + dry-run policies: what would happen if the dry-run ones were enforced. */
  withDryRun?: PolicyGroups;
}

/**
 * Compiles an authz section once (per snapshot version): every value pattern becomes a closure, so
 * evaluation does no parsing. Pure.
 *
 * @example
 * ```ts
 * const table = buildAuthzTable(snapshot.authz);
 * authorize(table, facts).allowed;
 * ```
 */
export function buildAuthzTable(authz: AuthzSnapshot | undefined): AuthzTable {
  const policies = authz?.policies ?? [];
  const enforced = buildGroups(policies.filter((p) => !p.dryRun));
  const empty = policies.length === 0;
  if (!policies.some((p) => p.dryRun)) return { empty, enforced };
  return { empty, enforced, withDryRun: buildGroups(policies) };
}

/**
 * Per-runtime cache of compiled tables keyed by the snapshot's authz object, so each snapshot is
 * compiled once however many requests use it, and dropped with it.
 *
 * @example
 * ```ts
 * const tables = createAuthzTableCache();
 * const table = tables.tableFor(snapshot);
 * ```
 */
export function createAuthzTableCache(): { tableFor(snapshot: Snapshot): AuthzTable } {
  const cache = new WeakMap<object, AuthzTable>();
  const none = buildAuthzTable(undefined);
  return {
    tableFor(snapshot) {
      const authz = snapshot.authz;
      if (!authz) return none;
      let table = cache.get(authz);
      if (!table) {
        table = buildAuthzTable(authz);
        cache.set(authz, table);
      }
      return table;
    },
  };
}

function buildGroups(policies: readonly AuthzPolicy[]): PolicyGroups {
  const of = (action: AuthzPolicy["action"]) => buildGroup(policies.filter((p) => p.action === action));
  return { custom: of("CUSTOM"), deny: of("DENY"), allow: of("ALLOW"), audit: of("AUDIT") };
}

function buildGroup(policies: readonly AuthzPolicy[]): ActionGroup {
  const http = emptyIndex();
  const tcp = emptyIndex();
  for (const policy of policies) {
    const tcpMode: RuleMode =
      policy.action === "DENY" || policy.action === "CUSTOM" ? "tcp-deny" : "tcp-allow";
    policy.rules.forEach((rule, i) => {
      addRule(http, policy, i, rule, "http");
      addRule(tcp, policy, i, rule, tcpMode);
    });
  }
  return { http, tcp, policies: policies.length };
}

function emptyIndex(): RuleIndex {
  return {
    rules: [],
    always: [],
    principal: new Map(),
    principalPrefix: new Map(),
    namespace: new Map(),
    host: new Map(),
    hostSuffix: new Map(),
  };
}

function addRule(
  index: RuleIndex,
  policy: AuthzPolicy,
  ruleIndex: number,
  rule: AuthzRule,
  mode: RuleMode,
): void {
  const test = compileRule(rule, mode);
  if (!test) return;
  const ordinal = index.rules.length;
  const entry: IndexedRule = { policy: policy.ref, rule: ruleIndex, test };
  if (policy.provider) entry.provider = policy.provider;
  index.rules.push(entry);
  const keys = indexKeys(rule, mode === "http");
  if (!keys) {
    index.always.push(ordinal);
    return;
  }
  for (const [dimension, value] of keys) {
    const map = index[dimension];
    const list = map.get(value);
    if (!list) map.set(value, [ordinal]);
    else if (list[list.length - 1] !== ordinal) list.push(ordinal);
  }
}

/** The values a rule requires (one of them), if all its patterns in one dimension are indexable. */
function indexKeys(rule: AuthzRule, http: boolean): [IndexDimension, string][] | undefined {
  const from = rule.from ?? [];
  const to = rule.to ?? [];
  return (
    keysOf(from.length ? from.map((s) => s.principals) : undefined, principalKey) ??
    keysOf(from.length ? from.map((s) => s.namespaces) : undefined, (v) =>
      v.includes("*") ? undefined : ["namespace", v],
    ) ??
    (http ? keysOf(to.length ? to.map((o) => o.hosts) : undefined, hostKey) : undefined)
  );
}

function keysOf(
  lists: (string[] | undefined)[] | undefined,
  key: (value: string) => [IndexDimension, string] | undefined,
): [IndexDimension, string][] | undefined {
  if (!lists) return undefined;
  const out: [IndexDimension, string][] = [];
  for (const list of lists) {
    if (!list || list.length === 0) return undefined;
    for (const value of list) {
      const k = key(value);
      if (!k) return undefined;
      out.push(k);
    }
  }
  return out;
}

function principalKey(value: string): [IndexDimension, string] | undefined {
  if (!value.includes("*")) return ["principal", value];
  const prefix = value.slice(0, -1);
  return value.endsWith("/*") && !prefix.includes("*") ? ["principalPrefix", prefix] : undefined;
}

function hostKey(pattern: string): [IndexDimension, string] | undefined {
  const value = pattern.toLowerCase();
  if (!value.includes("*")) return ["host", value];
  const suffix = value.slice(1);
  return value.startsWith("*.") && !suffix.includes("*") ? ["hostSuffix", suffix] : undefined;
}
