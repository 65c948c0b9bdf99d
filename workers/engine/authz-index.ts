import type { IpBlock } from "../../control/model/ip-block.ts";
import { isPathTemplate } from "../../control/model/path-template.ts";

/**
 * Value indexes for the authz rule table: exact values in a map, prefixes and suffixes in
 * character tries, so finding the rules whose pattern can match a request value costs one map
 * lookup plus a walk over the value's characters, however many rules there are. Pure.
 */

/**
 * What a pattern requires of a value: equal to, starting with, or ending with `text`; or, for a
 * path template, matching its `/` segments (`segments`: literal text, `{*}` or `{**}`).
 */
export type PatternKey =
  | { kind: "exact" | "prefix" | "suffix"; text: string }
  | { kind: "template"; segments: string[]; text: string };

/**
 * The key of Istio's glob form, exactly as `compileGlob` reads it (`*` alone = presence, which no
 * key captures: `undefined`).
 *
 * @example
 * ```ts
 * globKey("/info*");   // { kind: "prefix", text: "/info" }
 * globKey("*.Example.com", true); // { kind: "suffix", text: ".example.com" }
 * globKey("*");        // undefined
 * ```
 */
export function globKey(pattern: string, ignoreCase = false): PatternKey | undefined {
  const p = ignoreCase ? pattern.toLowerCase() : pattern;
  if (p === "*") return undefined;
  if (p.length > 1 && p.startsWith("*")) return { kind: "suffix", text: p.slice(1) };
  if (p.length > 1 && p.endsWith("*")) return { kind: "prefix", text: p.slice(0, -1) };
  return { kind: "exact", text: p };
}

/**
 * The key of a `paths` value: a `{*}`/`{**}` template by its segments (validation made every
 * operator a whole segment and `{**}` the last operator); other values are globs. `text` is the
 * template's literal text (its selectivity).
 *
 * @example
 * ```ts
 * pathKey("/items/{*}/reviews"); // { kind: "template", segments: ["", "items", "{*}", "reviews"], text: "/items//reviews" }
 * ```
 */
export function pathKey(pattern: string): PatternKey | undefined {
  if (!isPathTemplate(pattern)) return globKey(pattern);
  const text = pattern.replace(/\{\*\*?\}/g, "");
  return { kind: "template", segments: pattern.split("/"), text };
}

interface TrieNode {
  next: Map<number, TrieNode>;
  hits?: number[];
}

/** Path templates by segment: literal children, a `{*}` child, and rules whose template ends or hits `{**}` here. */
interface SegmentNode {
  literal: Map<string, SegmentNode>;
  one?: SegmentNode;
  /** The template ends here (the path has no more segments). */
  end?: number[];
  /** `{**}` starts here: any rest of the path fits (what follows it is checked by the rule). */
  rest?: number[];
}

/** Rule ordinals by the value they require. */
export interface ValueIndex {
  exact: Map<string, number[]>;
  prefix: TrieNode;
  /** Built over reversed text. */
  suffix: TrieNode;
  templates: SegmentNode;
  /** Keys added (0: skip lookups). */
  size: number;
}

/** An empty index. */
export function createValueIndex(): ValueIndex {
  return {
    exact: new Map(),
    prefix: { next: new Map() },
    suffix: { next: new Map() },
    templates: { literal: new Map() },
    size: 0,
  };
}

/** Records that rule `ordinal` can only match values fitting `key`. */
export function addKey(index: ValueIndex, key: PatternKey, ordinal: number): void {
  index.size++;
  if (key.kind === "exact") {
    push(index.exact, key.text, ordinal);
    return;
  }
  if (key.kind === "template") {
    addTemplate(index.templates, key.segments, ordinal);
    return;
  }
  const reverse = key.kind === "suffix";
  let node = reverse ? index.suffix : index.prefix;
  const { text } = key;
  for (let i = 0; i < text.length; i++) {
    const code = text.charCodeAt(reverse ? text.length - 1 - i : i);
    let child = node.next.get(code);
    if (!child) {
      child = { next: new Map() };
      node.next.set(code, child);
    }
    node = child;
  }
  node.hits = appended(node.hits, ordinal);
}

function addTemplate(root: SegmentNode, segments: readonly string[], ordinal: number): void {
  let node = root;
  for (const segment of segments) {
    if (segment === "{**}") {
      node.rest = appended(node.rest, ordinal);
      return;
    }
    let child = segment === "{*}" ? node.one : node.literal.get(segment);
    if (!child) {
      child = { literal: new Map() };
      if (segment === "{*}") node.one = child;
      else node.literal.set(segment, child);
    }
    node = child;
  }
  node.end = appended(node.end, ordinal);
}

function push(map: Map<string, number[]>, key: string, ordinal: number): void {
  const list = map.get(key);
  if (!list) map.set(key, [ordinal]);
  else if (list[list.length - 1] !== ordinal) list.push(ordinal);
}

function appended(list: number[] | undefined, ordinal: number): number[] {
  if (!list) return [ordinal];
  if (list[list.length - 1] !== ordinal) list.push(ordinal);
  return list;
}

/** Appends to `out` every rule whose key `value` fits (possibly twice; the caller dedupes). */
export function collectCandidates(index: ValueIndex, value: string, out: number[]): void {
  const exact = index.exact.get(value);
  if (exact) for (let i = 0; i < exact.length; i++) out.push(exact[i]!);
  walk(index.prefix, value, false, out);
  walk(index.suffix, value, true, out);
  const templates = index.templates;
  if (templates.literal.size > 0 || templates.one || templates.rest)
    walkSegments(templates, value.split("/"), 0, out);
}

function walkSegments(node: SegmentNode, segments: readonly string[], at: number, out: number[]): void {
  if (node.rest) for (const ordinal of node.rest) out.push(ordinal);
  if (at === segments.length) {
    if (node.end) for (const ordinal of node.end) out.push(ordinal);
    return;
  }
  const segment = segments[at]!;
  const literal = node.literal.get(segment);
  if (literal) walkSegments(literal, segments, at + 1, out);
  // `{*}` is one non-empty segment.
  if (node.one && segment !== "") walkSegments(node.one, segments, at + 1, out);
}

function walk(root: TrieNode, value: string, reverse: boolean, out: number[]): void {
  let node: TrieNode | undefined = root;
  const n = value.length;
  for (let i = 0; i < n && node.next.size > 0; i++) {
    node = node.next.get(value.charCodeAt(reverse ? n - 1 - i : i));
    if (!node) return;
    const hits = node.hits;
    if (hits) for (let k = 0; k < hits.length; k++) out.push(hits[k]!);
  }
}

interface BitNode {
  zero?: BitNode;
  one?: BitNode;
  hits?: number[];
}

/** Rule ordinals by CIDR block, one binary trie per address family (4 or 16 bytes). */
export interface IpIndex {
  v4: BitNode;
  v6: BitNode;
  size: number;
}

/** An empty IP index. */
export function createIpIndex(): IpIndex {
  return { v4: {}, v6: {}, size: 0 };
}

/**
 * Records that rule `ordinal` can only match addresses in `block` (as `ipBlockContains` decides:
 * same family, leading `prefix` bits equal).
 */
export function addIpBlock(index: IpIndex, block: IpBlock, ordinal: number): void {
  index.size++;
  let node = block.bytes.length === 4 ? index.v4 : index.v6;
  for (let bit = 0; bit < block.prefix; bit++) {
    const set = ((block.bytes[bit >> 3] ?? 0) >> (7 - (bit & 7))) & 1;
    const next: BitNode = (set ? node.one : node.zero) ?? {};
    if (set) node.one = next;
    else node.zero = next;
    node = next;
  }
  node.hits = appended(node.hits, ordinal);
}

/** Appends every rule whose block contains `address`. */
export function collectIpCandidates(index: IpIndex, address: Uint8Array, out: number[]): void {
  let node: BitNode | undefined = address.length === 4 ? index.v4 : index.v6;
  const bits = address.length * 8;
  for (let bit = 0; node; bit++) {
    if (node.hits) for (const ordinal of node.hits) out.push(ordinal);
    if (bit === bits) return;
    node = ((address[bit >> 3] ?? 0) >> (7 - (bit & 7))) & 1 ? node.one : node.zero;
  }
}
