import type { RouteMatch, StringMatch } from "../../control/compile/snapshot.ts";
import { type IpBlock, ipBlockContains, parseIpBlock } from "../../control/model/ip-block.ts";
import { compileStringMatch, type ValueMatcher } from "./string-match.ts";

/** The request as matching sees it: prepared once per request by `decideRoute`. */
export interface MatchInput {
  /** Path without the query string. */
  path: string;
  method: string;
  authority: string;
  scheme: string;
  headers: Readonly<Record<string, string | undefined>>;
  /** Destination port: explicit, else from the authority, else the scheme's default. */
  port: number;
  /** Query parameters (first value of each name), parsed on first use. */
  query(): ReadonlyMap<string, string>;
  sourceLabels: Readonly<Record<string, string>> | undefined;
  sourceNamespace: string | undefined;
  /** TCP: the connection's original destination IP as bytes (`parseIpAddress`); absent when unknown. */
  destinationIp?: Uint8Array;
  /** TCP: the connection's source IP as bytes; absent when unknown. */
  sourceIp?: Uint8Array;
}

/** A compiled match block: true when every condition holds. */
export type CompiledMatch = (input: MatchInput) => boolean;

type Presence = StringMatch | { present: true };

/**
 * Compiles one RouteMatch (AND of its conditions) into a predicate; regexes compile here, once
 * per route table, never per request.
 *
 * @example
 * ```ts
 * const m = compileRouteMatch({ uri: { prefix: "/reviews" }, headers: { "end-user": { exact: "jason" } } });
 * ```
 */
export function compileRouteMatch(match: RouteMatch): CompiledMatch {
  const checks: CompiledMatch[] = [];
  if (match.uri) {
    const uri = compileStringMatch(match.uri, match.ignoreUriCase === true);
    checks.push((r) => uri(r.path));
  }
  if (match.method) {
    const method = compileStringMatch(match.method);
    checks.push((r) => method(r.method));
  }
  if (match.authority) {
    const authority = compileStringMatch(match.authority);
    checks.push((r) => authority(r.authority));
  }
  if (match.scheme) {
    const scheme = compileStringMatch(match.scheme);
    checks.push((r) => scheme(r.scheme));
  }
  for (const [name, m] of Object.entries(match.headers ?? {})) {
    const test = presenceMatcher(m);
    const key = name.toLowerCase();
    checks.push((r) => test(r.headers[key]));
  }
  for (const [name, m] of Object.entries(match.withoutHeaders ?? {})) {
    const test = presenceMatcher(m);
    const key = name.toLowerCase();
    checks.push((r) => !test(r.headers[key]));
  }
  for (const [name, m] of Object.entries(match.queryParams ?? {})) {
    const test = presenceMatcher(m);
    checks.push((r) => test(r.query().get(name)));
  }
  if (match.port !== undefined) {
    const port = match.port;
    checks.push((r) => r.port === port);
  }
  if (match.sourceLabels) {
    const wanted = Object.entries(match.sourceLabels);
    checks.push((r) => r.sourceLabels !== undefined && wanted.every(([k, v]) => r.sourceLabels?.[k] === v));
  }
  if (match.sourceNamespace !== undefined) {
    const namespace = match.sourceNamespace;
    checks.push((r) => r.sourceNamespace === namespace);
  }
  if (match.destinationSubnets) {
    const blocks = parseBlocks(match.destinationSubnets);
    checks.push((r) => inBlocks(blocks, r.destinationIp));
  }
  if (match.sourceSubnet !== undefined) {
    const blocks = parseBlocks([match.sourceSubnet]);
    checks.push((r) => inBlocks(blocks, r.sourceIp));
  }
  // One or two conditions (most blocks) without the array walk: fewer objects touched per test.
  const [first, second] = checks;
  if (!first) return () => true;
  if (checks.length === 1) return first;
  if (checks.length === 2 && second) return (r) => first(r) && second(r);
  return (r) => checks.every((check) => check(r));
}

function presenceMatcher(m: Presence): (value: string | undefined) => boolean {
  if ("present" in m) return (value) => value !== undefined;
  const test: ValueMatcher = compileStringMatch(m);
  return (value) => value !== undefined && test(value);
}

/** An unparsable block matches nothing (validation reports it), so the rule fails closed. */
function parseBlocks(cidrs: readonly string[]): IpBlock[] {
  return cidrs.flatMap((cidr) => parseIpBlock(cidr) ?? []);
}

/** An unknown address (a CONNECT by host name) is in no block. */
function inBlocks(blocks: readonly IpBlock[], address: Uint8Array | undefined): boolean {
  return address !== undefined && blocks.some((b) => ipBlockContains(b, address));
}
