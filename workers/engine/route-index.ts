import type { RouteMatch } from "../../control/compile/snapshot.ts";
import { regexLiteralPrefix } from "../../control/model/re2-regex.ts";
import {
  addPrefix,
  compressPrefixes,
  deepestPrefixNode,
  flattenPrefixes,
  type PrefixNode,
  type PrefixTrie,
  prefixLists,
} from "./prefix-trie.ts";

/**
 * Candidate routes of one virtual host, so a lookup does not test every route. Each match block of
 * a route gets one key if it has one: an exact path, a path prefix, a regex that starts with a
 * literal (indexed by that literal as a prefix), or else an exact header value. A route all of whose
 * blocks have a key is indexed under those keys; every other route (no match blocks, `ignoreUriCase`,
 * a block with neither a path nor an exact header) is in `always`, a candidate for every request.
 *
 * Candidate lists hold `position * 2 + sure`, ascending: the lookup tests candidates in route order
 * and stops at the first that matches (first match wins). `sure` is 1 when the key alone decides
 * the match (the block has no other condition), so such a candidate is taken without running its
 * matchers: for plain path routes a lookup touches the index and the chosen route only.
 */
export interface RouteIndex {
  /**
   * Exact paths. In `merged` mode each list also holds the prefix routes that path reaches, so an
   * exact hit needs no trie walk.
   */
  readonly exact: ReadonlyMap<string, readonly number[]>;
  /** Prefixes (prefix-trie.ts): walking the path visits every prefix of it in a few steps. */
  readonly prefixes: PrefixTrie;
  /** Routes keyed by an exact header value, by header name (lower-case). */
  readonly headers: readonly HeaderKeys[];
  readonly always: readonly number[];
  /**
   * True when each trie node's list holds the routes of every prefix on the way to it (one list
   * per walk); false when lists would grow too large that way (deeply nested prefixes) and the
   * walk collects the list of every node it passes.
   */
  readonly merged: boolean;
  /** Scratch for the lookup (lists being merged and their heads); lookups are synchronous. */
  readonly scratch: { lists: (readonly number[])[]; heads: number[] };
}

/** Routes keyed by the exact value of one request header. */
export interface HeaderKeys {
  readonly name: string;
  readonly values: ReadonlyMap<string, readonly number[]>;
}

/**
 * Below this many routes a virtual host has no index: testing each route in order is cheaper than
 * looking candidates up.
 */
export const INDEX_MIN_ROUTES = 16;

/** At most this many header names are indexed (the most used ones); other header routes are `always`. */
const MAX_HEADER_NAMES = 4;

/** `merged` mode is dropped when the merged lists would hold more than this many entries per route. */
const MAX_MERGED_PER_ROUTE = 8;

type BlockKey =
  | { kind: "exact" | "prefix"; value: string; sure: boolean }
  | { kind: "header"; name: string; value: string; sure: boolean };

/**
 * Builds the index of a virtual host's routes (in route order); undefined for fewer than
 * `minRoutes` routes.
 *
 * @example
 * ```ts
 * const index = buildRouteIndex([[{ uri: { exact: "/a" } }], [{ queryParams: { x: { exact: "1" } } }]], 0);
 * routeCandidates(index!, "/a", {}); // [0, 1]
 * ```
 */
export function buildRouteIndex(
  routeMatches: readonly (readonly RouteMatch[])[],
  minRoutes = INDEX_MIN_ROUTES,
): RouteIndex | undefined {
  if (routeMatches.length < minRoutes) return undefined;
  const keyed = routeMatches.map((matches) => matches.map(blockKey));
  const headerNames = indexedHeaderNames(keyed);
  const exact = new Map<string, number[]>();
  const prefixes: PrefixNode = {};
  const headers = new Map<string, Map<string, number[]>>(headerNames.map((name) => [name, new Map()]));
  const always: number[] = [];
  keyed.forEach((keys, position) => {
    const usable = keys.length > 0 && keys.every((k) => k && (k.kind !== "header" || headers.has(k.name)));
    if (!usable) {
      always.push(position * 2);
      return;
    }
    for (const key of keys as Exclude<BlockKey, undefined>[]) {
      const entry = position * 2 + (key.sure ? 1 : 0);
      if (key.kind === "header") append(headers.get(key.name) as Map<string, number[]>, key.value, entry);
      else if (key.kind === "exact") append(exact, key.value, entry);
      else addPrefix(prefixes, key.value, entry, addEntry);
    }
  });
  compressPrefixes(prefixes);
  const merged = mergeChains(prefixes, exact, routeMatches.length * MAX_MERGED_PER_ROUTE);
  return {
    exact,
    prefixes: flattenPrefixes(prefixes),
    headers: [...headers].map(([name, values]) => ({ name, values })),
    always,
    merged,
    scratch: { lists: [], heads: [] },
  };
}

function append(map: Map<string, number[]>, key: string, entry: number): void {
  const list = map.get(key);
  if (!list) map.set(key, [entry]);
  else addEntry(list, entry);
}

/** Adds an entry to an ascending list; a route listed twice keeps one entry, `sure` if either is. */
function addEntry(list: number[], entry: number): void {
  const last = list[list.length - 1];
  if (last === undefined || last >> 1 !== entry >> 1) list.push(entry);
  else list[list.length - 1] = last | entry;
}

/**
 * Gives every trie node the union of its own and its ancestors' lists, and every exact path the
 * prefix routes it reaches, unless that would hold more than `budget` entries in all (then nothing
 * changes and lookups merge the lists they pass). Returns whether the lists were merged.
 */
function mergeChains(root: PrefixNode, exact: Map<string, number[]>, budget: number): boolean {
  let total = 0;
  const plan: [PrefixNode, number[]][] = [];
  const visit = (node: PrefixNode, inherited: readonly number[]): boolean => {
    const list = node.routes ? unionOf([inherited, node.routes]) : inherited;
    total += list.length;
    if (total > budget) return false;
    plan.push([node, list as number[]]);
    for (const edge of node.next?.values() ?? []) if (!visit(edge.node, list)) return false;
    return true;
  };
  if (!visit(root, [])) return false;
  // The merged list of the deepest prefix node a path reaches holds every prefix on the way there.
  const mergedOf = new Map(plan);
  const exactPlan: [string, number[]][] = [];
  for (const [path, list] of exact) {
    const reached = mergedOf.get(deepestPrefixNode(root, path));
    const merged = reached && reached.length > 0 ? unionOf([list, reached]) : list;
    total += merged.length;
    if (total > budget) return false;
    exactPlan.push([path, merged]);
  }
  for (const [node, list] of plan) if (list.length > 0) node.routes = list;
  for (const [path, list] of exactPlan) exact.set(path, list);
  return true;
}

function unionOf(lists: readonly (readonly number[])[]): number[] {
  const out: number[] = [];
  const heads = new Array<number>(lists.length).fill(0);
  for (let entry = nextEntry(lists, heads); entry >= 0; entry = nextEntry(lists, heads)) {
    if (out.length > 0 && (out[out.length - 1] as number) >> 1 === entry >> 1)
      out[out.length - 1] = (out[out.length - 1] as number) | entry;
    else out.push(entry);
  }
  return out;
}

/**
 * The positions of the routes that may match a request with this path (without query) and
 * headers, ascending, possibly with repeats; a route not listed cannot match.
 */
export function routeCandidates(
  index: RouteIndex,
  path: string,
  headers: Readonly<Record<string, string | undefined>>,
): number[] {
  const out: number[] = [];
  const lists = collectLists(index, path, headers);
  const heads = index.scratch.heads;
  heads.length = lists.length;
  heads.fill(0);
  for (let entry = nextEntry(lists, heads); entry >= 0; entry = nextEntry(lists, heads)) out.push(entry >> 1);
  return out;
}

/**
 * The first candidate (in route order) that matches: a `sure` candidate at once, any other when
 * `test` holds for it; undefined when none does.
 */
export function firstCandidate<T>(
  index: RouteIndex,
  path: string,
  headers: Readonly<Record<string, string | undefined>>,
  routes: readonly T[],
  test: (route: T) => boolean,
): T | undefined {
  const lists = collectLists(index, path, headers);
  if (lists.length === 1) {
    for (const entry of lists[0] as readonly number[]) {
      const route = routes[entry >> 1] as T;
      if ((entry & 1) === 1 || test(route)) return route;
    }
    return undefined;
  }
  if (lists.length === 2) {
    // The common case (the path's list and `always`, e.g. a final catch-all): a two-way merge.
    const a = lists[0] as readonly number[];
    const b = lists[1] as readonly number[];
    let i = 0;
    let j = 0;
    while (i < a.length || j < b.length) {
      const entry = j >= b.length || (i < a.length && (a[i] as number) < (b[j] as number)) ? a[i++] : b[j++];
      const route = routes[(entry as number) >> 1] as T;
      if (((entry as number) & 1) === 1 || test(route)) return route;
    }
    return undefined;
  }
  // Merge the few ascending lists without sorting or copying them.
  const heads = index.scratch.heads;
  heads.length = lists.length;
  heads.fill(0);
  for (let entry = nextEntry(lists, heads); entry >= 0; entry = nextEntry(lists, heads)) {
    const route = routes[entry >> 1] as T;
    if ((entry & 1) === 1 || test(route)) return route;
  }
  return undefined;
}

/** The candidate lists of a request (in the index's scratch, valid until the next lookup). */
function collectLists(
  index: RouteIndex,
  path: string,
  headers: Readonly<Record<string, string | undefined>>,
): (readonly number[])[] {
  const lists = index.scratch.lists;
  lists.length = 0;
  const exact = index.exact.get(path);
  if (exact) lists.push(exact);
  // Merged: an exact hit's list already holds the prefix routes of its path.
  if (!exact || !index.merged) prefixLists(index.prefixes, path, lists, index.merged);
  for (const keys of index.headers) {
    const value = headers[keys.name];
    const list = value === undefined ? undefined : keys.values.get(value);
    if (list) lists.push(list);
  }
  if (index.always.length > 0) lists.push(index.always);
  return lists;
}

/** The smallest entry at the heads of `lists` (advancing that head), or -1 when all are done. */
function nextEntry(lists: readonly (readonly number[])[], heads: number[]): number {
  let best = -1;
  let bestEntry = Number.POSITIVE_INFINITY;
  for (let k = 0; k < lists.length; k++) {
    const entry = (lists[k] as readonly number[])[heads[k] as number];
    if (entry !== undefined && entry < bestEntry) {
      best = k;
      bestEntry = entry;
    }
  }
  if (best < 0) return -1;
  heads[best] = (heads[best] as number) + 1;
  return bestEntry;
}

/** The header names to index: those keying the most blocks (at most `MAX_HEADER_NAMES`). */
function indexedHeaderNames(keyed: readonly (readonly (BlockKey | undefined)[])[]): string[] {
  const counts = new Map<string, number>();
  for (const keys of keyed)
    for (const key of keys) if (key?.kind === "header") counts.set(key.name, (counts.get(key.name) ?? 0) + 1);
  return [...counts]
    .sort((a, b) => b[1] - a[1])
    .slice(0, MAX_HEADER_NAMES)
    .map(([name]) => name);
}

/** The key a match block is indexed by, if it has one; undefined when it may match any request. */
function blockKey(match: RouteMatch): BlockKey | undefined {
  const uri = match.uri;
  if (uri && match.ignoreUriCase !== true) {
    const sure = onlyCondition(match) === "uri";
    if ("exact" in uri) return { kind: "exact", value: uri.exact, sure };
    if ("prefix" in uri) return { kind: "prefix", value: uri.prefix, sure };
    const literal = regexLiteralPrefix(uri.regex);
    if (literal !== "") return { kind: "prefix", value: literal, sure: false };
  }
  const headers = Object.entries(match.headers ?? {});
  for (const [name, m] of headers)
    if ("exact" in m) {
      const sure = headers.length === 1 && onlyCondition(match) === "headers";
      return { kind: "header", name: name.toLowerCase(), value: m.exact, sure };
    }
  return undefined;
}

/** The field of a match block's only condition field (`name` is a label, not a condition), if one. */
function onlyCondition(match: RouteMatch): string | undefined {
  let only: string | undefined;
  for (const [field, value] of Object.entries(match)) {
    if (field === "name" || value === undefined || (field === "ignoreUriCase" && value === false)) continue;
    if (only !== undefined) return undefined;
    only = field;
  }
  return only;
}
