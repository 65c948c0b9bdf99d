import type { RouteMatch } from "../../control/compile/snapshot.ts";

/**
 * Candidate routes of one virtual host by request path, so a lookup does not test every route.
 * A route is indexed when every one of its match blocks requires a path: an exact path, a path
 * prefix, or a regex that starts with a literal (indexed by that literal as a prefix). Every other
 * route (no match blocks, header-only, `ignoreUriCase`, a regex without a literal start) is in
 * `always` and is a candidate for every request. Lists hold route positions in ascending order, so
 * the lookup keeps first-match-wins: it tests candidates in route order and stops at the first
 * that matches.
 */
export interface RouteIndex {
  readonly exact: ReadonlyMap<string, readonly number[]>;
  /**
   * Prefixes as a compressed character trie (each edge holds the run of characters up to the next
   * branch or route): walking the path visits every prefix of it in a few steps.
   */
  readonly prefixes: PrefixNode;
  readonly always: readonly number[];
  /** Scratch for the lookup (lists being merged and their heads); lookups are synchronous. */
  readonly scratch: { lists: (readonly number[])[]; heads: number[] };
}

/** A node of the prefix trie: the routes whose prefix ends here, and the edges by first character. */
export interface PrefixNode {
  routes?: number[];
  next?: Map<number, PrefixEdge>;
}

/** An edge of the prefix trie: the characters it consumes (at least one) and the node it leads to. */
export interface PrefixEdge {
  label: string;
  node: PrefixNode;
}

/**
 * Below this many routes a virtual host has no index: testing each route in order is cheaper than
 * looking candidates up.
 */
export const INDEX_MIN_ROUTES = 16;

/**
 * Builds the index of a virtual host's routes (in route order); undefined for fewer than
 * `INDEX_MIN_ROUTES` routes.
 *
 * @example
 * ```ts
 * const index = buildRouteIndex([[{ uri: { exact: "/a" } }], [{ headers: { x: { exact: "1" } } }]], 0);
 * routeCandidates(index!, "/a"); // [0, 1]
 * ```
 */
export function buildRouteIndex(
  routeMatches: readonly (readonly RouteMatch[])[],
  minRoutes = INDEX_MIN_ROUTES,
): RouteIndex | undefined {
  if (routeMatches.length < minRoutes) return undefined;
  const exact = new Map<string, number[]>();
  const prefixes: PrefixNode = {};
  const always: number[] = [];
  const addExact = (key: string, position: number) => {
    const list = exact.get(key);
    if (!list) exact.set(key, [position]);
    else if (list[list.length - 1] !== position) list.push(position);
  };
  const addPrefix = (key: string, position: number) => {
    let node = prefixes;
    for (let i = 0; i < key.length; i++) {
      node.next ??= new Map();
      const code = key.charCodeAt(i);
      let edge = node.next.get(code);
      if (!edge) {
        edge = { label: key[i] as string, node: {} };
        node.next.set(code, edge);
      }
      node = edge.node;
    }
    node.routes ??= [];
    if (node.routes[node.routes.length - 1] !== position) node.routes.push(position);
  };
  routeMatches.forEach((matches, position) => {
    const keys = matches.map(pathKey);
    if (keys.length === 0 || keys.some((k) => k === undefined)) {
      always.push(position);
      return;
    }
    for (const key of keys) {
      if (key?.kind === "exact") addExact(key.value, position);
      else if (key) addPrefix(key.value, position);
    }
  });
  compress(prefixes);
  return { exact, prefixes, always, scratch: { lists: [], heads: [] } };
}

/** Merges chains of route-less single-child nodes into one edge each. */
function compress(node: PrefixNode): void {
  for (const edge of node.next?.values() ?? []) {
    while (!edge.node.routes && edge.node.next?.size === 1) {
      const only = edge.node.next.values().next().value as PrefixEdge;
      edge.label += only.label;
      edge.node = only.node;
    }
    compress(edge.node);
  }
}

/**
 * The positions of the routes that may match `path` (without query), ascending, possibly with
 * repeats; a route not listed cannot match.
 */
export function routeCandidates(index: RouteIndex, path: string): number[] {
  const out: number[] = [];
  const lists = collectLists(index, path);
  const heads = index.scratch.heads;
  heads.length = lists.length;
  heads.fill(0);
  for (let position = nextPosition(lists, heads); position >= 0; position = nextPosition(lists, heads))
    out.push(position);
  return out;
}

/** The first candidate (in route order) for which `test` holds, or undefined. */
export function firstCandidate<T>(
  index: RouteIndex,
  path: string,
  routes: readonly T[],
  test: (route: T) => boolean,
): T | undefined {
  const lists = collectLists(index, path);
  if (lists.length === 1) {
    for (const position of lists[0] as readonly number[]) {
      const route = routes[position] as T;
      if (test(route)) return route;
    }
    return undefined;
  }
  // Merge the few ascending lists without sorting or copying them.
  const heads = index.scratch.heads;
  heads.length = lists.length;
  heads.fill(0);
  for (let position = nextPosition(lists, heads); position >= 0; position = nextPosition(lists, heads)) {
    const route = routes[position] as T;
    if (test(route)) return route;
  }
  return undefined;
}

/** The candidate lists of `path` (in the index's scratch, valid until the next lookup). */
function collectLists(index: RouteIndex, path: string): (readonly number[])[] {
  const lists = index.scratch.lists;
  lists.length = 0;
  const exact = index.exact.get(path);
  if (exact) lists.push(exact);
  let node: PrefixNode = index.prefixes;
  let i = 0;
  for (;;) {
    if (node.routes) lists.push(node.routes);
    if (i >= path.length || !node.next) break;
    const edge = node.next.get(path.charCodeAt(i));
    if (!edge || !path.startsWith(edge.label, i)) break;
    i += edge.label.length;
    node = edge.node;
  }
  if (index.always.length > 0) lists.push(index.always);
  return lists;
}

/** The smallest position at the heads of `lists` (advancing that head), or -1 when all are done. */
function nextPosition(lists: readonly (readonly number[])[], heads: number[]): number {
  let best = -1;
  let bestPosition = Number.POSITIVE_INFINITY;
  for (let k = 0; k < lists.length; k++) {
    const position = (lists[k] as readonly number[])[heads[k] as number];
    if (position !== undefined && position < bestPosition) {
      best = k;
      bestPosition = position;
    }
  }
  if (best < 0) return -1;
  heads[best] = (heads[best] as number) + 1;
  return bestPosition;
}

type PathKey = { kind: "exact" | "prefix"; value: string } | undefined;

/** What path a match block requires, if any; undefined when it may match any path. */
function pathKey(match: RouteMatch): PathKey {
  const uri = match.uri;
  if (!uri || match.ignoreUriCase === true) return undefined;
  if ("exact" in uri) return { kind: "exact", value: uri.exact };
  if ("prefix" in uri) return { kind: "prefix", value: uri.prefix };
  const literal = regexLiteralPrefix(uri.regex);
  return literal === "" ? undefined : { kind: "prefix", value: literal };
}

/**
 * The literal text every full match of `pattern` starts with ("" when unknown). Conservative: a
 * pattern with `|` anywhere has none; a character followed by `?`, `*` or `{` is not required.
 */
export function regexLiteralPrefix(pattern: string): string {
  if (pattern.includes("|")) return "";
  let end = 0;
  while (end < pattern.length && !"\\.[](){}*+?|^$".includes(pattern[end] as string)) end++;
  const next = pattern[end];
  if (next === "?" || next === "*" || next === "{") end = Math.max(0, end - 1);
  return pattern.slice(0, end);
}
