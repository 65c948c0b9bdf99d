import { describe, expect, it } from "vitest";
import type { StoredResource } from "../../broker/events.ts";
import { compile } from "../../control/compile/compile.ts";
import { authorize } from "./authorize.ts";
import type { AuthzFacts } from "./authz-facts.ts";
import { authorizationPolicy as ap, httpRequest, workload } from "./authz-fixtures.ts";
import { buildAuthzTable } from "./authz-table.ts";

/**
 * The rule index must never change a decision: for random policy sets mixing every indexable
 * form (exact, prefix, suffix, `*`, templates, IP blocks, `when` values, methods) with unindexable
 * ones, and random requests, the indexed table decides exactly as a table that tries every rule
 * (same allowed, reason, deciding policy and rule, audit and dry-run). Runs in Node and workerd.
 */

/** A small deterministic generator (mulberry32), so a failure is reproducible from its seed. */
function random(seed: number): () => number {
  let a = seed;
  return () => {
    a = (a + 0x6d2b79f5) | 0;
    let t = Math.imul(a ^ (a >>> 15), 1 | a);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const PRINCIPALS = [
  "cluster.local/ns/a/sa/x",
  "cluster.local/ns/a/*",
  "*/sa/x",
  "*",
  "cluster.local/ns/b/sa/y",
  "*sa/y",
];
const NAMESPACES = ["a", "b", "a*", "*b", "*"];
const HOSTS = ["api.example.com", "*.example.com", "API.*", "*", "other.test"];
const PATHS = [
  "/api",
  "/api/*",
  "*.json",
  "/items/{*}/v1",
  "/items/{**}",
  "/{**}",
  "/x/{*}/y/{**}",
  "*",
  "/",
];
const METHODS = ["GET", "POST", "DELETE", "G*"];
const BLOCKS = ["10.0.0.0/8", "10.1.2.3", "192.168.0.0/16", "::1", "0.0.0.0/0"];
const HEADERS = ["t1", "t*", "*2", "*"];

const REQUEST_PRINCIPALS = ["cluster.local/ns/a/sa/x", "cluster.local/ns/b/sa/y", "cluster.local/ns/c/sa/z"];
const REQUEST_HOSTS = ["api.example.com", "API.example.com:8443", "other.test", "api.other"];
const REQUEST_PATHS = ["/api", "/api/v1", "/a.json", "/items/7/v1", "/items/", "/x/1/y/2/3", "/", "/x//y/"];
const REQUEST_IPS = ["10.1.2.3", "192.168.1.1", "::1", "8.8.8.8", "::ffff:10.0.0.1"];

function policySet(next: () => number, count: number): StoredResource[] {
  const pick = <T>(list: readonly T[]): T => list[Math.floor(next() * list.length)]!;
  const some = (list: readonly string[]) =>
    Array.from({ length: 1 + Math.floor(next() * 2) }, () => pick(list));
  const maybe = <T>(value: () => T): T | undefined => (next() < 0.4 ? value() : undefined);
  const out: StoredResource[] = [];
  for (let i = 0; i < count; i++) {
    const rules = Array.from({ length: 1 + Math.floor(next() * 2) }, () => {
      const source = {
        principals: maybe(() => some(PRINCIPALS)),
        namespaces: maybe(() => some(NAMESPACES)),
        ipBlocks: maybe(() => some(BLOCKS)),
        remoteIpBlocks: maybe(() => some(BLOCKS)),
        notPrincipals: maybe(() => some(PRINCIPALS)),
      };
      const operation = {
        hosts: maybe(() => some(HOSTS)),
        paths: maybe(() => some(PATHS)),
        methods: maybe(() => some(METHODS)),
        notPaths: maybe(() => some(PATHS)),
      };
      const defined = (o: object) =>
        Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined)) as Record<string, string[]>;
      const rule: Record<string, unknown> = {};
      if (Object.keys(defined(source)).length > 0) rule.from = [{ source: defined(source) }];
      if (Object.keys(defined(operation)).length > 0) rule.to = [{ operation: defined(operation) }];
      if (next() < 0.4) rule.when = [{ key: "request.headers[x-tenant]", values: some(HEADERS) }];
      else if (next() < 0.2) rule.when = [{ key: "request.headers[x-tenant]", notValues: some(HEADERS) }];
      return rule;
    });
    const action = pick(["ALLOW", "ALLOW", "DENY", "AUDIT"]);
    const annotations = next() < 0.15 ? { "istio.io/dry-run": "true" } : undefined;
    out.push(ap(`p-${i}`, "foo", { action, rules }, annotations));
  }
  return out;
}

function requestOf(next: () => number): AuthzFacts {
  const pick = <T>(list: readonly T[]): T => list[Math.floor(next() * list.length)]!;
  const facts = httpRequest({
    protocol: next() < 0.15 ? "tcp" : "http",
    host: pick(REQUEST_HOSTS),
    path: pick(REQUEST_PATHS),
    method: pick(["GET", "POST", "DELETE", "PUT"]),
    headers: next() < 0.5 ? { "x-tenant": pick(["t1", "t2", "x"]) } : {},
    sourceIp: pick(REQUEST_IPS),
    remoteIp: pick(REQUEST_IPS),
  });
  if (next() < 0.8) facts.peer = { principal: pick(REQUEST_PRINCIPALS) };
  return facts;
}

/** Declares the index equivalence cases. */
export function defineAuthzIndexCases(): void {
  describe("authz: the rule index never changes a decision", () => {
    it("random policy sets and requests decide alike with and without the index", () => {
      let compared = 0;
      for (let seed = 1; seed <= 40; seed++) {
        const next = random(seed);
        const { snapshot } = compile(
          policySet(next, 1 + Math.floor(next() * 25)),
          workload("httpbin", "foo"),
        );
        const indexed = buildAuthzTable(snapshot.authz);
        // The reference tries every rule, each on its own (no index, no shared-term memo).
        const reference = buildAuthzTable(snapshot.authz, { indexed: false, sharedTerms: false });
        for (let r = 0; r < 60; r++) {
          const facts = requestOf(next);
          expect(authorize(indexed, facts), `seed ${seed} request ${r}`).toEqual(authorize(reference, facts));
          compared++;
        }
      }
      expect(compared).toBe(2400);
    });

    it("never reads a term memoised for an earlier request, across the epoch's wrap-around", () => {
      // Both rules share the `to` term (methods GET): it is memoised per request.
      const { snapshot } = compile(
        [
          ap("get", "foo", { action: "ALLOW", rules: [{ to: [{ operation: { methods: ["GET"] } }] }] }),
          ap("get-from-x", "foo", {
            action: "ALLOW",
            rules: [{ from: [{ source: { namespaces: ["x"] } }], to: [{ operation: { methods: ["GET"] } }] }],
          }),
        ],
        workload("httpbin", "foo"),
      );
      // Without the index every rule is tried, so only the memo stands between a request and a stale result.
      const table = buildAuthzTable(snapshot.authz, { indexed: false });
      expect(authorize(table, httpRequest({ method: "GET" })).allowed).toBe(true); // epoch 1
      table.memo.epoch = 0x7fffffff;
      // The next request wraps to epoch 1 again: the GET's memoised `true` must not answer for it.
      expect(authorize(table, httpRequest({ method: "POST" }))).toMatchObject({
        allowed: false,
        reason: "no-allow-match",
      });
      expect(table.memo.epoch).toBe(1);
      expect(authorize(table, httpRequest({ method: "GET" })).allowed).toBe(true);
    });
  });
}
