import { describe, expect, it } from "vitest";
import type { RedirectPolicy } from "../../control/compile/snapshot.ts";
import { decideRoute, type RequestFacts } from "./decide-route.ts";
import { request, reviewsMesh, subsetRoute, tableFor, target } from "./engine-fixtures.ts";
import { applyHeaderPolicies, headerPoliciesFor, recordHeaderEditor } from "./header-mutation.ts";
import { applyRedirect } from "./redirect.ts";
import { defineResilienceCases } from "./resilience.case.ts";
import { rewritePath, rewriteRequest } from "./rewrite.ts";

/**
 * What a matched rule does besides picking a destination (redirect, rewrite, headers), part of
 * the shared engine suite (see engine.case.ts): real resources compiled, then the engine helpers.
 */
export function defineActionCases(): void {
  describe("engine: redirects", () => {
    const redirectTable = tableFor(
      reviewsMesh({
        hosts: ["reviews"],
        http: [
          { match: [{ uri: { exact: "/old" } }], redirect: { uri: "/new" } },
          ...[302, 303, 307, 308].map((code) => ({
            match: [{ uri: { prefix: `/c${code}` } }],
            redirect: { uri: `/to${code}`, redirectCode: code },
          })),
          {
            match: [{ uri: { prefix: "/secure" } }],
            redirect: { scheme: "https", authority: "shop.example.com" },
          },
          { route: [subsetRoute("v1")] },
        ],
      }),
    );

    it("answers 301 by default with a Location that keeps the query string", () => {
      expect(target(decideRoute(redirectTable, request("reviews:9080", "/old?page=2"), Math.random))).toBe(
        "redirect 301 http://reviews:9080/new?page=2",
      );
    });

    it("uses redirectCode: 302, 303, 307 and 308", () => {
      for (const code of [302, 303, 307, 308]) {
        expect(target(decideRoute(redirectTable, request("reviews", `/c${code}`), Math.random))).toBe(
          `redirect ${code} http://reviews/to${code}`,
        );
      }
    });

    it("replaces scheme and authority, dropping the request's port", () => {
      expect(target(decideRoute(redirectTable, request("reviews:9080", "/secure/x"), Math.random))).toBe(
        "redirect 301 https://shop.example.com/secure/x",
      );
    });

    const facts = (authority: string, path = "/a?q=1", scheme: "http" | "https" = "http"): RequestFacts => ({
      authority,
      path,
      method: "GET",
      scheme,
      headers: {},
    });
    const location = (f: RequestFacts, r: Omit<RedirectPolicy, "status">) =>
      applyRedirect(f, { status: 301, ...r }).location;

    it("derives the port as Istio documents: explicit, protocol default, or the request's", () => {
      expect(location(facts("shop:8080"), { port: 9443 })).toBe("http://shop:9443/a?q=1");
      expect(location(facts("shop:8080"), { scheme: "https", derivePort: "FROM_PROTOCOL_DEFAULT" })).toBe(
        "https://shop/a?q=1",
      );
      expect(location(facts("shop:8080"), { authority: "other", derivePort: "FROM_REQUEST_PORT" })).toBe(
        "http://other:8080/a?q=1",
      );
      expect(location(facts("shop"), { authority: "other:7000", port: 8000 })).toBe(
        "http://other:8000/a?q=1",
      );
    });

    it("keeps a non-default request port, drops a default one when the scheme changes", () => {
      expect(location(facts("shop:8080"), { uri: "/b" })).toBe("http://shop:8080/b?q=1");
      expect(location(facts("shop:80"), { scheme: "https" })).toBe("https://shop/a?q=1");
      expect(location(facts("shop:8080"), { scheme: "https" })).toBe("https://shop:8080/a?q=1");
      expect(location(facts("shop:443", "/", "https"), { scheme: "http", port: 80 })).toBe("http://shop/");
    });

    it("takes the query string of uri when it has one, and makes uri absolute", () => {
      expect(location(facts("shop"), { uri: "/b?x=2" })).toBe("http://shop/b?x=2");
      expect(location(facts("shop", "/a"), { uri: "b" })).toBe("http://shop/b");
    });
  });

  describe("engine: rewrites", () => {
    const table = tableFor(
      reviewsMesh({
        hosts: ["reviews"],
        http: [
          {
            match: [{ uri: { prefix: "/api/v1/" } }, { uri: { exact: "/legacy" } }],
            rewrite: { uri: "/v2/", authority: "reviews-v2" },
            route: [subsetRoute("v2")],
          },
          { match: [{ uri: { prefix: "/strip" } }], rewrite: { uri: "/" }, route: [subsetRoute("v1")] },
          {
            match: [{ uri: { prefix: "/svc" } }],
            rewrite: { uriRegexRewrite: { match: "^/svc/([^/]+)(/.*)?$", rewrite: "/instance/\\1\\2" } },
            route: [subsetRoute("v1")],
          },
          {
            match: [{ uri: { prefix: "/Case" }, ignoreUriCase: true }],
            rewrite: { uri: "/c" },
            route: [subsetRoute("v1")],
          },
          { rewrite: { uri: "/root" }, route: [subsetRoute("v3")] },
        ],
      }),
    );
    const rewritten = (path: string) => {
      const d = decideRoute(table, request("reviews:9080", path), Math.random);
      if (d.kind !== "forward") return `${d.kind}`;
      const action = d.route.action;
      const out = rewriteRequest(
        { path, authority: "reviews:9080" },
        action.kind === "route" ? action.rewrite : undefined,
      );
      return `${out.authority} ${out.path}`;
    };

    it("replaces the matched prefix per match block, the whole path for an exact match, keeps the query", () => {
      expect(rewritten("/api/v1/ratings?id=1")).toBe("reviews-v2 /v2/ratings?id=1");
      expect(rewritten("/legacy?id=1")).toBe("reviews-v2 /v2/?id=1");
    });

    it('rewrites a prefix to "/" without doubling the slash', () => {
      expect(rewritten("/strip/x/y")).toBe("reviews:9080 /x/y");
      expect(rewritten("/strip")).toBe("reviews:9080 /");
      expect(rewritten("/stripped")).toBe("reviews:9080 /ped");
    });

    it("applies uriRegexRewrite with RE2 group references", () => {
      expect(rewritten("/svc/a1/items?x")).toBe("reviews:9080 /instance/a1/items?x");
    });

    it("replaces a prefix matched case-insensitively, and the leading / of a rule without uri match", () => {
      expect(rewritten("/CASE/x")).toBe("reviews:9080 /c/x");
      expect(rewritten("/other")).toBe("reviews:9080 /rootother");
    });

    it("replaces every regex match and leaves paths the rewrite does not match alone", () => {
      expect(rewritePath("/a-b-c", { kind: "regex", pattern: "-", substitution: "/" })).toBe("/a/b/c");
      expect(rewritePath("/x", { kind: "prefix", prefix: "/y", replacement: "/z" })).toBe("/x");
      expect(rewritePath("/x", { kind: "regex", pattern: "(", substitution: "" })).toBe("/x");
    });
  });

  describe("engine: header policies", () => {
    const table = tableFor(
      reviewsMesh({
        hosts: ["reviews"],
        http: [
          {
            headers: {
              request: { set: { "X-Env": "prod" }, add: { "x-trace": "route" }, remove: ["x-secret"] },
              response: { set: { "cache-control": "no-store" }, remove: ["server"] },
            },
            route: [
              {
                ...subsetRoute("v1"),
                headers: {
                  request: { set: { "x-env": "canary", "x-dest": "v1" } },
                  response: { add: { "x-served": "v1" } },
                },
              },
            ],
          },
        ],
      }),
    );

    it("applies the destination's operations then the route's (route wins), remove before add", () => {
      const d = decideRoute(table, request("reviews"), Math.random);
      expect(d.kind).toBe("forward");
      if (d.kind !== "forward") return;
      const policies = headerPoliciesFor(d.route, d.destination);
      const upstream: Record<string, string | string[] | number | undefined> = {
        "x-secret": "s",
        "x-trace": "client",
      };
      applyHeaderPolicies(recordHeaderEditor(upstream), policies, "request");
      expect(upstream).toEqual({ "x-env": "prod", "x-dest": "v1", "x-trace": ["client", "route"] });
      const response = new Headers({ server: "app", "cache-control": "max-age=60" });
      applyHeaderPolicies(response, policies, "response");
      expect([...response]).toEqual([
        ["cache-control", "no-store"],
        ["x-served", "v1"],
      ]);
    });
  });

  defineResilienceCases();
}
