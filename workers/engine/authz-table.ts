import type {
  AuthzPolicy,
  AuthzRule,
  AuthzSnapshot,
  ExtAuthzProvider,
} from "../../control/compile/authz-snapshot.ts";
import type { Snapshot } from "../../control/compile/snapshot.ts";
import { type ConditionKey, parseConditionKey } from "../../control/model/authz-condition-key.ts";
import { type IpBlock, parseIpBlock } from "../../control/model/ip-block.ts";
import {
  addIpBlock,
  addKey,
  createIpIndex,
  createValueIndex,
  globKey,
  type IpIndex,
  type PatternKey,
  pathKey,
  type ValueIndex,
} from "./authz-index.ts";
import {
  type ConditionRead,
  compileRule,
  conditionReader,
  type RuleMode,
  type RulePredicate,
} from "./authz-rules.ts";

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
 * index), with an inverted index. A rule is keyed on one dimension (peer principal, peer
 * namespace, host or path; the most selective one it allows) when every `from` source (for the
 * first two) or every `to` operation (for the others) lists values in it, all exact, prefix,
 * suffix or path templates (not `*` alone): such a rule can only match a request whose value fits
 * one of those keys, so it is only tried for such requests. Other rules are always tried.
 */
export interface RuleIndex {
  rules: IndexedRule[];
  always: number[];
  principal: ValueIndex;
  namespace: ValueIndex;
  /** Lower-case; looked up with and without the request's port. */
  host: ValueIndex;
  path: ValueIndex;
  /** Last resort (methods rarely narrow much). */
  method: ValueIndex;
  /** `ipBlocks` (the peer address) and `remoteIpBlocks` (the original client). */
  sourceIp: IpIndex;
  remoteIp: IpIndex;
  /** `when` conditions rules are keyed by, one index per condition key (`request.headers[x-tenant]`). */
  conditions: ConditionIndex[];
}

/** Rules keyed by the values of one `when` key. */
export interface ConditionIndex {
  key: string;
  read: ConditionRead;
  index: ValueIndex;
}

type ValueDimension = "principal" | "namespace" | "host" | "path" | "method";
type IndexDimension = ValueDimension | "sourceIp" | "remoteIp" | `when:${string}`;
type IndexKey = PatternKey | { kind: "ip"; block: IpBlock };

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
  /** CUSTOM policies' providers by name. */
  providers: Readonly<Record<string, ExtAuthzProvider>>;
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
export function buildAuthzTable(
  authz: AuthzSnapshot | undefined,
  /** `indexed: false` tries every rule (the reference the index is tested against). */
  options: { indexed?: boolean } = {},
): AuthzTable {
  const indexed = options.indexed ?? true;
  const policies = authz?.policies ?? [];
  const enforced = buildGroups(
    policies.filter((p) => !p.dryRun),
    indexed,
  );
  const empty = policies.length === 0;
  const providers = authz?.extAuthz ?? {};
  if (!policies.some((p) => p.dryRun)) return { empty, enforced, providers };
  return { empty, enforced, withDryRun: buildGroups(policies, indexed), providers };
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

function buildGroups(policies: readonly AuthzPolicy[], indexed: boolean): PolicyGroups {
  const of = (action: AuthzPolicy["action"]) =>
    buildGroup(
      policies.filter((p) => p.action === action),
      indexed,
    );
  return { custom: of("CUSTOM"), deny: of("DENY"), allow: of("ALLOW"), audit: of("AUDIT") };
}

function buildGroup(policies: readonly AuthzPolicy[], indexed: boolean): ActionGroup {
  const http = emptyIndex();
  const tcp = emptyIndex();
  for (const policy of policies) {
    const tcpMode: RuleMode =
      policy.action === "DENY" || policy.action === "CUSTOM" ? "tcp-deny" : "tcp-allow";
    policy.rules.forEach((rule, i) => {
      addRule(http, policy, i, rule, "http", indexed);
      // An HTTP ext-authz provider cannot check a TCP connection: istiod ignores CUSTOM there too.
      if (policy.action !== "CUSTOM") addRule(tcp, policy, i, rule, tcpMode, indexed);
    });
  }
  return { http, tcp, policies: policies.length };
}

function emptyIndex(): RuleIndex {
  return {
    rules: [],
    always: [],
    principal: createValueIndex(),
    namespace: createValueIndex(),
    host: createValueIndex(),
    path: createValueIndex(),
    method: createValueIndex(),
    sourceIp: createIpIndex(),
    remoteIp: createIpIndex(),
    conditions: [],
  };
}

function addRule(
  index: RuleIndex,
  policy: AuthzPolicy,
  ruleIndex: number,
  rule: AuthzRule,
  mode: RuleMode,
  indexed: boolean,
): void {
  const test = compileRule(rule, mode);
  if (!test) return;
  const ordinal = index.rules.length;
  const entry: IndexedRule = { policy: policy.ref, rule: ruleIndex, test };
  if (policy.provider) entry.provider = policy.provider;
  index.rules.push(entry);
  const keyed = indexed ? indexKeys(rule, mode === "http") : undefined;
  if (!keyed) {
    index.always.push(ordinal);
    return;
  }
  const { dimension } = keyed;
  for (const key of keyed.keys) {
    if (key.kind === "ip")
      addIpBlock(index[dimension === "remoteIp" ? "remoteIp" : "sourceIp"], key.block, ordinal);
    else if (dimension.startsWith("when:")) addKey(conditionIndex(index, dimension.slice(5)), key, ordinal);
    else addKey(index[dimension as ValueDimension], key, ordinal);
  }
}

function conditionIndex(index: RuleIndex, written: string): ValueIndex {
  const key = parseConditionKey(written)!;
  const canonical = canonicalKey(key);
  let entry = index.conditions.find((c) => c.key === canonical);
  if (!entry) {
    entry = { key: canonical, read: conditionReader(key)!, index: createValueIndex() };
    index.conditions.push(entry);
  }
  return entry.index;
}

function canonicalKey(key: ConditionKey): string {
  if (key.attribute === "request.headers") return `request.headers[${key.header}]`;
  if (key.attribute === "request.auth.claims") return `request.auth.claims[${key.claim.join("][")}]`;
  return key.attribute;
}

/**
 * The dimension and keys a rule can be indexed by (one of the keys must fit the request), choosing
 * the most selective dimension: exact values first, then the longest shortest key.
 */
function indexKeys(
  rule: AuthzRule,
  http: boolean,
): { dimension: IndexDimension; keys: IndexKey[] } | undefined {
  const from = rule.from ?? [];
  const to = rule.to ?? [];
  const ipKey = (v: string): IndexKey | undefined => {
    const block = parseIpBlock(v);
    return block ? { kind: "ip", block } : undefined;
  };
  const options: [IndexDimension, IndexKey[] | undefined][] = [
    [
      "sourceIp",
      keysOf(
        from.map((s) => s.ipBlocks),
        ipKey,
      ),
    ],
    [
      "remoteIp",
      keysOf(
        from.map((s) => s.remoteIpBlocks),
        ipKey,
      ),
    ],
    [
      "principal",
      keysOf(
        from.map((s) => s.principals),
        (v) => globKey(v),
      ),
    ],
    [
      "namespace",
      keysOf(
        from.map((s) => s.namespaces),
        (v) => globKey(v),
      ),
    ],
  ];
  if (http) {
    options.push([
      "host",
      keysOf(
        to.map((o) => o.hosts),
        (v) => globKey(v, true),
      ),
    ]);
    options.push([
      "path",
      keysOf(
        to.map((o) => o.paths),
        pathKey,
      ),
    ]);
    options.push([
      "method",
      keysOf(
        to.map((o) => o.methods),
        (v) => globKey(v),
      ),
    ]);
  }
  for (const condition of rule.when ?? []) {
    const key = parseConditionKey(condition.key);
    if (!key || (key.http && !http) || !conditionReader(key)) continue;
    options.push([`when:${condition.key}`, keysOf([condition.values], (v) => globKey(v))]);
  }
  let best: { dimension: IndexDimension; keys: IndexKey[]; score: number } | undefined;
  for (const [dimension, keys] of options) {
    if (!keys) continue;
    let score = Number.POSITIVE_INFINITY;
    for (const key of keys) score = Math.min(score, selectivity(key));
    // Any other usable dimension beats methods (most rules name GET).
    if (dimension === "method") score = Math.min(score, 1);
    if (score > 0 && (!best || score > best.score)) best = { dimension, keys, score };
  }
  return best;
}

/** How narrowly a key selects: exact values and host addresses highest, then by length or prefix bits. */
function selectivity(key: IndexKey): number {
  if (key.kind === "ip") return key.block.prefix === key.block.bytes.length * 8 ? 1000 : key.block.prefix;
  return (key.kind === "exact" ? 1000 : 0) + key.text.length;
}

function keysOf(
  lists: (string[] | undefined)[],
  key: (value: string) => IndexKey | undefined,
): IndexKey[] | undefined {
  if (lists.length === 0) return undefined;
  const out: IndexKey[] = [];
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
