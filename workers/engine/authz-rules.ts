import type {
  AuthzCondition,
  AuthzOperation,
  AuthzRule,
  AuthzSource,
} from "../../control/compile/authz-snapshot.ts";
import { type ConditionKey, parseConditionKey } from "../../control/model/authz-condition-key.ts";
import type { AuthzFacts } from "./authz-facts.ts";
import {
  anyOf,
  compileGlob,
  compileIpBlocks,
  compilePath,
  type IpTest,
  type ValueTest,
} from "./authz-values.ts";

/** A request as rules read it: derived values computed once per evaluation. */
export interface RequestView {
  facts: AuthzFacts;
  path: string | undefined;
  /** Lower-case. */
  host: string | undefined;
  /** Lower-case. */
  hostWithoutPort: string | undefined;
  port: string | undefined;
  peerPrincipal: string | undefined;
  peerNamespace: string | undefined;
  peerServiceAccount: string | undefined;
  sourceIp: Uint8Array | undefined;
  remoteIp: Uint8Array | undefined;
  destinationIp: Uint8Array | undefined;
  /**
   * This evaluation's stamp for memoised rule terms (see `authz-table.ts`): unique per request
   * within a table, never 0.
   */
  epoch: number;
}

/** A compiled rule. */
export type RulePredicate = (view: RequestView) => boolean;

/**
 * One conjunct of a rule: its `from` (any source), its `to` (any operation), or one `when`
 * condition. Terms with equal `key` are the same predicate, so a table evaluates each distinct
 * term at most once per request, however many rules share it.
 */
export interface RuleTerm {
  key: string;
  test: RulePredicate;
}

/**
 * How a rule is compiled: for HTTP requests, or for TCP connections in an ALLOW/AUDIT policy (a rule
 * using any HTTP-only field never matches) or a DENY/CUSTOM policy (HTTP-only fields are dropped,
 * so the rule matches more), as Istio does.
 */
export type RuleMode = "http" | "tcp-allow" | "tcp-deny";

/**
 * Compiles one rule; `undefined` means it can never match in this mode.
 *
 * @example
 * ```ts
 * const matches = compileRule({ to: [{ operation: { methods: ["GET"] } }] }, "http");
 * ```
 */
export function compileRule(rule: AuthzRule, mode: RuleMode): RulePredicate | undefined {
  const terms = compileRuleTerms(rule, mode);
  return terms && all(terms.map((term) => term.test));
}

/**
 * Compiles one rule into the terms it requires (all must hold; none: always matches);
 * `undefined` means it can never match in this mode.
 *
 * @example
 * ```ts
 * compileRuleTerms({ to: [{ operation: { methods: ["GET"] } }] }, "http")?.length; // 1
 * ```
 */
export function compileRuleTerms(rule: AuthzRule, mode: RuleMode): RuleTerm[] | undefined {
  if (mode === "tcp-allow" && usesHttpFields(rule)) return undefined;
  const http = mode === "http";
  // The key holds everything the predicate is compiled from: the field's value and whether HTTP fields count.
  const flag = http ? "h" : "t";
  const terms: RuleTerm[] = [];
  if (rule.from)
    terms.push({
      key: `from/${flag}/${JSON.stringify(rule.from)}`,
      test: any(rule.from.map((s) => compileSource(s, http))),
    });
  if (rule.to)
    terms.push({
      key: `to/${flag}/${JSON.stringify(rule.to)}`,
      test: any(rule.to.map((o) => compileOperation(o, http))),
    });
  for (const condition of rule.when ?? []) {
    const test = compileCondition(condition, http);
    if (test) terms.push({ key: `when/${flag}/${JSON.stringify(condition)}`, test });
  }
  return terms;
}

function usesHttpFields(rule: AuthzRule): boolean {
  const source = rule.from?.some((s) => s.requestPrincipals || s.notRequestPrincipals) ?? false;
  const operation =
    rule.to?.some((o) => o.hosts || o.notHosts || o.methods || o.notMethods || o.paths || o.notPaths) ??
    false;
  const when = rule.when?.some((c) => parseConditionKey(c.key)?.http ?? true) ?? false;
  return source || operation || when;
}

function compileSource(source: AuthzSource, http: boolean): RulePredicate {
  const parts: RulePredicate[] = [];
  const text = (
    values: string[] | undefined,
    negate: boolean,
    read: (v: RequestView) => string | undefined,
    compile: (p: string) => ValueTest = compileGlob,
  ) => {
    if (values) parts.push(field(anyOf(values, compile), negate, read));
  };
  const ip = (
    values: string[] | undefined,
    negate: boolean,
    read: (v: RequestView) => Uint8Array | undefined,
  ) => {
    if (values) parts.push(ipField(compileIpBlocks(values), negate, read));
  };
  text(source.principals, false, (v) => v.peerPrincipal);
  text(source.notPrincipals, true, (v) => v.peerPrincipal);
  if (http) {
    text(source.requestPrincipals, false, (v) => v.facts.request?.principal);
    text(source.notRequestPrincipals, true, (v) => v.facts.request?.principal);
  }
  text(source.namespaces, false, (v) => v.peerNamespace);
  text(source.notNamespaces, true, (v) => v.peerNamespace);
  const exact =
    (p: string): ValueTest =>
    (v) =>
      v === p;
  text(source.serviceAccounts, false, (v) => v.peerServiceAccount, exact);
  text(source.notServiceAccounts, true, (v) => v.peerServiceAccount, exact);
  ip(source.ipBlocks, false, (v) => v.sourceIp);
  ip(source.notIpBlocks, true, (v) => v.sourceIp);
  ip(source.remoteIpBlocks, false, (v) => v.remoteIp);
  ip(source.notRemoteIpBlocks, true, (v) => v.remoteIp);
  return all(parts);
}

function compileOperation(operation: AuthzOperation, http: boolean): RulePredicate {
  const parts: RulePredicate[] = [];
  if (http) {
    // Hosts match case-insensitively, with or without the port the client sent.
    const hostTest = (values: string[]) => {
      const test = anyOf(values, (p) => compileGlob(p, true));
      return (v: RequestView) => test(v.host) || (v.hostWithoutPort !== v.host && test(v.hostWithoutPort));
    };
    if (operation.hosts) parts.push(hostTest(operation.hosts));
    if (operation.notHosts) {
      const test = hostTest(operation.notHosts);
      parts.push((v) => !test(v));
    }
    if (operation.methods)
      parts.push(field(anyOf(operation.methods, compileGlob), false, (v) => v.facts.method));
    if (operation.notMethods)
      parts.push(field(anyOf(operation.notMethods, compileGlob), true, (v) => v.facts.method));
    if (operation.paths) parts.push(field(anyOf(operation.paths, compilePath), false, (v) => v.path));
    if (operation.notPaths) parts.push(field(anyOf(operation.notPaths, compilePath), true, (v) => v.path));
  }
  const exact =
    (p: string): ValueTest =>
    (v) =>
      v === p;
  if (operation.ports) parts.push(field(anyOf(operation.ports, exact), false, (v) => v.port));
  if (operation.notPorts) parts.push(field(anyOf(operation.notPorts, exact), true, (v) => v.port));
  return all(parts);
}

function compileCondition(condition: AuthzCondition, http: boolean): RulePredicate | undefined {
  const key = parseConditionKey(condition.key);
  // Unknown keys were refused by validation; if one gets here, the condition never holds.
  if (!key) return () => false;
  if (key.http && !http) return undefined;
  const test = (values: string[] | undefined, negate: boolean): RulePredicate | undefined => {
    if (!values || values.length === 0) return undefined;
    switch (key.attribute) {
      case "source.ip":
      case "remote.ip":
      case "destination.ip": {
        const read =
          key.attribute === "source.ip"
            ? (v: RequestView) => v.sourceIp
            : key.attribute === "remote.ip"
              ? (v: RequestView) => v.remoteIp
              : (v: RequestView) => v.destinationIp;
        return ipField(compileIpBlocks(values), negate, read);
      }
      case "request.headers": {
        const name = key.header;
        return field(anyOf(values, compileGlob), negate, (v) => v.facts.headers?.[name]);
      }
      case "request.auth.claims":
        return listField(anyOf(values, compileGlob), negate, (v) => claimValues(v, key.claim));
      case "request.auth.audiences":
        return listField(anyOf(values, compileGlob), negate, (v) => v.facts.request?.audiences);
      case "request.auth.principal":
        return field(anyOf(values, compileGlob), negate, (v) => v.facts.request?.principal);
      case "request.auth.presenter":
        return field(anyOf(values, compileGlob), negate, (v) => v.facts.request?.presenter);
      case "source.namespace":
        return field(anyOf(values, compileGlob), negate, (v) => v.peerNamespace);
      case "source.principal":
        return field(anyOf(values, compileGlob), negate, (v) => v.peerPrincipal);
      case "destination.port":
        return field(
          anyOf(values, (p) => (v) => v === p),
          negate,
          (v) => v.port,
        );
      case "connection.sni":
        return field(anyOf(values, compileGlob), negate, (v) => v.facts.sni);
      default: {
        const unknown: never = key;
        throw new Error(`unhandled condition key ${JSON.stringify(unknown)}`);
      }
    }
  };
  const parts = [test(condition.values, false), test(condition.notValues, true)].filter(
    (p): p is RulePredicate => p !== undefined,
  );
  return all(parts);
}

/** What the engine reads for a value a `when` condition can be indexed by. */
export type ConditionRead = (view: RequestView) => string | readonly string[] | undefined;

/**
 * The request value a `when` key reads, for keys whose values are glob-matched (headers, claims,
 * request/peer principal, peer namespace); `undefined` for others (IPs, ports, SNI, lists of
 * audiences). The index keys rules by these values; the rule predicate still decides.
 *
 * @example
 * ```ts
 * conditionReader(parseConditionKey("request.headers[x-tenant]")!)?.(view); // "tenant-7"
 * ```
 */
export function conditionReader(key: ConditionKey): ConditionRead | undefined {
  switch (key.attribute) {
    case "request.headers": {
      const name = key.header;
      return (v) => v.facts.headers?.[name];
    }
    case "request.auth.claims": {
      const path = key.claim;
      return (v) => claimValues(v, path);
    }
    case "request.auth.principal":
      return (v) => v.facts.request?.principal;
    case "source.namespace":
      return (v) => v.peerNamespace;
    case "source.principal":
      return (v) => v.peerPrincipal;
    default:
      return undefined;
  }
}

function claimValues(view: RequestView, path: readonly string[]): readonly string[] | undefined {
  let value: unknown = view.facts.request?.claims;
  for (const segment of path) {
    if (typeof value !== "object" || value === null || Array.isArray(value)) return undefined;
    value = (value as Record<string, unknown>)[segment];
  }
  if (typeof value === "string") return [value];
  if (Array.isArray(value)) return value.filter((v): v is string => typeof v === "string");
  return undefined;
}

function field(
  test: ValueTest,
  negate: boolean,
  read: (v: RequestView) => string | undefined,
): RulePredicate {
  return negate ? (v) => !test(read(v)) : (v) => test(read(v));
}

function ipField(
  test: IpTest,
  negate: boolean,
  read: (v: RequestView) => Uint8Array | undefined,
): RulePredicate {
  return negate ? (v) => !test(read(v)) : (v) => test(read(v));
}

function listField(
  test: ValueTest,
  negate: boolean,
  read: (v: RequestView) => readonly string[] | undefined,
): RulePredicate {
  const some = (v: RequestView) => {
    for (const value of read(v) ?? []) if (test(value)) return true;
    return false;
  };
  return negate ? (v) => !some(v) : some;
}

/** All of the predicates hold (none: always true); small arities unrolled. */
export function all(parts: readonly RulePredicate[]): RulePredicate {
  if (parts.length === 0) return () => true;
  // Small arities as direct closures: evaluation is a few calls per rule, not a loop.
  const [a, b, c] = parts as [RulePredicate, RulePredicate, RulePredicate];
  if (parts.length === 1) return a;
  if (parts.length === 2) return (v) => a(v) && b(v);
  if (parts.length === 3) return (v) => a(v) && b(v) && c(v);
  return (v) => {
    for (let i = 0; i < parts.length; i++) if (!parts[i]!(v)) return false;
    return true;
  };
}

function any(parts: readonly RulePredicate[]): RulePredicate {
  const [a, b] = parts as [RulePredicate, RulePredicate];
  if (parts.length === 1) return a;
  if (parts.length === 2) return (v) => a(v) || b(v);
  return (v) => {
    for (let i = 0; i < parts.length; i++) if (parts[i]!(v)) return true;
    return false;
  };
}
