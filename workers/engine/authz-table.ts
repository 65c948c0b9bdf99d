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
  all,
  type ConditionRead,
  compileRuleTerms,
  conditionReader,
  type RuleMode,
  type RulePredicate,
  type RuleTerm,
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
  /**
   * Evaluation scratch, reused by each (synchronous) request: candidates found, and per rule the
   * epoch of the request that found it.
   */
  scratch: number[];
  marks: Int32Array;
  /**
   * Per rule, its shared terms (memoised per request; see {@link TermMemo}): those of rule `i` are
   * `sharedIds[sharedStart[i]]` up to `sharedIds[sharedStart[i + 1]]`.
   */
  sharedStart: Int32Array;
  sharedIds: Int32Array;
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
  /** Per-request results of the terms rules share; see {@link nextEpoch}. */
  memo: TermMemo;
}

/**
 * Results of shared rule terms for the request being evaluated: a term whose stamp equals the
 * request's epoch has its result in `values`. The only state a table changes while evaluating
 * (synchronously, so requests never interleave); it caches, it never changes a decision.
 */
export interface TermMemo {
  stamps: Int32Array;
  values: Uint8Array;
  epoch: number;
}

/**
 * A fresh epoch for one request's evaluation (`RequestView.epoch`): the memoised term results and
 * candidate marks of earlier requests no longer count.
 */
export function nextEpoch(table: AuthzTable): number {
  const memo = table.memo;
  if (memo.epoch >= 0x7fffffff) {
    memo.stamps.fill(0);
    for (const groups of [table.enforced, table.withDryRun])
      for (const group of groups ? [groups.custom, groups.deny, groups.allow, groups.audit] : [])
        for (const index of [group.http, group.tcp]) index.marks.fill(0);
    memo.epoch = 0;
  }
  return ++memo.epoch;
}

/** Distinct terms of a table's rules, with how many rules use each. */
interface TermPool {
  byKey: Map<string, PooledTerm>;
  terms: PooledTerm[];
  /** Rules whose evaluator is built once every rule is known (it orders terms by use). */
  pending: { entry: IndexedRule; terms: PooledTerm[]; index: RuleIndex; ordinal: number }[];
}

interface PooledTerm {
  id: number;
  test: RulePredicate;
  uses: number;
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
  /**
   * `indexed: false` tries every rule; `sharedTerms: false` evaluates each rule on its own, without
   * per-request memos of terms rules share. Both off: the reference the optimisations are tested against.
   */
  options: { indexed?: boolean; sharedTerms?: boolean } = {},
): AuthzTable {
  const indexed = options.indexed ?? true;
  const policies = authz?.policies ?? [];
  const pool: TermPool = { byKey: new Map(), terms: [], pending: [] };
  const enforced = buildGroups(
    policies.filter((p) => !p.dryRun),
    indexed,
    pool,
  );
  const empty = policies.length === 0;
  const providers = authz?.extAuthz ?? {};
  const withDryRun = policies.some((p) => p.dryRun) ? buildGroups(policies, indexed, pool) : undefined;
  const memo = finishRules(pool, options.sharedTerms ?? true);
  return { empty, enforced, ...(withDryRun ? { withDryRun } : {}), providers, memo };
}

/**
 * Builds each rule's evaluator: terms shared by several rules first, most shared first (memoised:
 * computed once per request, then one array read; a false one rejects every rule using it), then
 * the rule's own terms in written order. AND of pure terms, so the order never changes a result.
 */
function finishRules(pool: TermPool, share: boolean): TermMemo {
  const memo: TermMemo = {
    stamps: new Int32Array(pool.terms.length),
    values: new Uint8Array(pool.terms.length),
    epoch: 0,
  };
  const tests = pool.terms.map((t) => t.test);
  const sharedOf = new Map<RuleIndex, number[][]>();
  for (const { entry, terms, index, ordinal } of pool.pending) {
    const sharedHere = (t: PooledTerm) => share && t.uses > 1;
    const shared = terms.filter(sharedHere).sort((a, b) => b.uses - a.uses);
    let lists = sharedOf.get(index);
    if (!lists) {
      lists = [];
      sharedOf.set(index, lists);
    }
    lists[ordinal] = shared.map((t) => t.id);
    const own = terms.filter((t) => !sharedHere(t)).map((t) => t.test);
    entry.test = ruleEvaluator(
      shared.map((t) => t.id),
      own,
      tests,
      memo,
    );
  }
  for (const [index, lists] of sharedOf) {
    index.sharedStart = new Int32Array(index.rules.length + 1);
    const flat: number[] = [];
    for (let i = 0; i < index.rules.length; i++) {
      index.sharedStart[i] = flat.length;
      flat.push(...(lists[i] ?? []));
    }
    index.sharedStart[index.rules.length] = flat.length;
    index.sharedIds = Int32Array.from(flat);
  }
  pool.pending.length = 0;
  return memo;
}

function ruleEvaluator(
  sharedIds: readonly number[],
  own: readonly RulePredicate[],
  tests: readonly RulePredicate[],
  memo: TermMemo,
): RulePredicate {
  if (sharedIds.length === 0) return all(own);
  const { stamps, values } = memo;
  const ids = Int32Array.from(sharedIds);
  const owned = own.length === 1 ? own[0] : undefined;
  return (v) => {
    const epoch = v.epoch;
    for (let i = 0; i < ids.length; i++) {
      const id = ids[i]!;
      if (stamps[id] === epoch) {
        if (values[id] === 0) return false;
        continue;
      }
      const result = tests[id]!(v);
      stamps[id] = epoch;
      values[id] = result ? 1 : 0;
      if (!result) return false;
    }
    if (owned) return owned(v);
    for (let i = 0; i < own.length; i++) if (!own[i]!(v)) return false;
    return true;
  };
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

function buildGroups(policies: readonly AuthzPolicy[], indexed: boolean, pool: TermPool): PolicyGroups {
  const of = (action: AuthzPolicy["action"]) =>
    buildGroup(
      policies.filter((p) => p.action === action),
      indexed,
      pool,
    );
  return { custom: of("CUSTOM"), deny: of("DENY"), allow: of("ALLOW"), audit: of("AUDIT") };
}

function buildGroup(policies: readonly AuthzPolicy[], indexed: boolean, pool: TermPool): ActionGroup {
  const http = emptyIndex();
  const tcp = emptyIndex();
  for (const policy of policies) {
    const tcpMode: RuleMode =
      policy.action === "DENY" || policy.action === "CUSTOM" ? "tcp-deny" : "tcp-allow";
    policy.rules.forEach((rule, i) => {
      addRule(http, policy, i, rule, "http", indexed, pool);
      // An HTTP ext-authz provider cannot check a TCP connection: istiod ignores CUSTOM there too.
      if (policy.action !== "CUSTOM") addRule(tcp, policy, i, rule, tcpMode, indexed, pool);
    });
  }
  http.marks = new Int32Array(http.rules.length);
  tcp.marks = new Int32Array(tcp.rules.length);
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
    scratch: [],
    marks: new Int32Array(0),
    sharedStart: new Int32Array(1),
    sharedIds: new Int32Array(0),
  };
}

function addRule(
  index: RuleIndex,
  policy: AuthzPolicy,
  ruleIndex: number,
  rule: AuthzRule,
  mode: RuleMode,
  indexed: boolean,
  pool: TermPool,
): void {
  const terms = compileRuleTerms(rule, mode);
  if (!terms) return;
  const ordinal = index.rules.length;
  // `test` is set by finishRules once every rule (and how many share each term) is known.
  const entry: IndexedRule = { policy: policy.ref, rule: ruleIndex, test: () => false };
  if (policy.provider) entry.provider = policy.provider;
  index.rules.push(entry);
  pool.pending.push({ entry, terms: terms.map((term) => pooled(pool, term)), index, ordinal });
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

function pooled(pool: TermPool, term: RuleTerm): PooledTerm {
  let found = pool.byKey.get(term.key);
  if (!found) {
    found = { id: pool.terms.length, test: term.test, uses: 0 };
    pool.byKey.set(term.key, found);
    pool.terms.push(found);
  }
  found.uses++;
  return found;
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
