import { type IpBlock, ipBlockContains, parseIpAddress, parseIpBlock } from "../../control/model/ip-block.ts";
import { isPathTemplate, pathTemplateRegex } from "../../control/model/path-template.ts";
import { globKey } from "./authz-index.ts";

/**
 * Matchers for AuthorizationPolicy values, compiled once per snapshot. Istio's string forms:
 * `*` = present (non-empty), `abc*` = prefix, `*abc` = suffix, else exact.
 */

/** Tests one request value; `undefined` means "the request has no such value". */
export type ValueTest = (value: string | undefined) => boolean;

/**
 * Compiles Istio's glob form for one value.
 *
 * @example
 * ```ts
 * compileGlob("/info*")("/info/x"); // true
 * compileGlob("*")(undefined);      // false
 * compileGlob("*.Example.com", true)("api.example.com"); // true: pattern folded, value given lower-case
 * ```
 */
export function compileGlob(pattern: string, ignoreCase = false): ValueTest {
  // With ignoreCase the caller passes lower-cased values (folded once per request, not per rule).
  // The index (authz-index.ts) reads patterns through the same globKey, so both agree.
  const key = globKey(pattern, ignoreCase);
  if (!key) return (v) => v !== undefined && v !== "";
  const { text } = key;
  if (key.kind === "suffix") return (v) => v?.endsWith(text) ?? false;
  if (key.kind === "prefix") return (v) => v?.startsWith(text) ?? false;
  return (v) => v === text;
}

/** A path value: a `{*}`/`{**}` template, or the glob form. */
export function compilePath(pattern: string): ValueTest {
  if (!isPathTemplate(pattern)) return compileGlob(pattern);
  const regexp = new RegExp(pathTemplateRegex(pattern));
  return (v) => v !== undefined && regexp.test(v);
}

/** Any of the patterns matches (an empty list matches nothing). */
export function anyOf(patterns: readonly string[], compile: (p: string) => ValueTest): ValueTest {
  const tests = patterns.map((p) => compile(p)); // not map(compile): the index would become its second argument
  if (tests.length === 1) return tests[0]!;
  return (v) => {
    for (const test of tests) if (test(v)) return true;
    return false;
  };
}

/** IP blocks, for values already parsed to bytes (per request, once). */
export type IpTest = (address: Uint8Array | undefined) => boolean;

/** Matches an address against CIDR blocks; blocks that do not parse match nothing (validated earlier). */
export function compileIpBlocks(blocks: readonly string[]): IpTest {
  const parsed = blocks.map(parseIpBlock).filter((b): b is IpBlock => b !== undefined);
  return (address) => {
    if (!address) return false;
    for (const block of parsed) if (ipBlockContains(block, address)) return true;
    return false;
  };
}

/** Parses a request address once (`undefined` when absent or malformed). */
export function readAddress(value: string | undefined): Uint8Array | undefined {
  return value === undefined ? undefined : parseIpAddress(value);
}

/**
 * Namespace and service account of a SPIFFE-style principal `<td>/ns/<ns>/sa/<sa>` (as Istio derives
 * `source.namespace` and `serviceAccounts` from it).
 *
 * @example
 * ```ts
 * principalParts("cluster.local/ns/foo/sa/sleep"); // { namespace: "foo", serviceAccount: "foo/sleep" }
 * ```
 */
export function principalParts(principal: string | undefined): {
  namespace?: string;
  serviceAccount?: string;
} {
  if (!principal) return {};
  const match = /\/ns\/([^/]+)\/sa\/([^/]+)$/.exec(principal);
  if (!match) return {};
  return { namespace: match[1], serviceAccount: `${match[1]}/${match[2]}` };
}
