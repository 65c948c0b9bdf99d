import { describe, expect, it } from "vitest";
import { decideRoute, type RequestFacts } from "./decide-route.ts";
import { request, reviewsMesh, seededRandom, subsetRoute, tableFor } from "./engine-fixtures.ts";
import { findVirtualHost } from "./route-table.ts";

/**
 * First-match-wins with the path index (route-index.ts), part of the shared engine suite: the
 * route chosen is always the earliest in the VirtualService whose matches hold, whatever mix of
 * exact, prefix, regex, header-only and ignoreUriCase rules precedes it.
 */
export function defineRouteOrderCases(): void {
  describe("engine: first matching route wins with the path index", () => {
    // Unmatched fillers first, so the host has enough routes to be indexed.
    const fillers = Array.from({ length: 20 }, (_, i) => ({
      name: `filler-${i}`,
      match: [{ uri: { exact: `/f${i}` } }],
    }));
    const rules = [
      ...fillers,
      { name: "prefix-deep", match: [{ uri: { prefix: "/deep" } }] },
      { name: "prefix-deep-x", match: [{ uri: { prefix: "/deep/x" } }] },
      { name: "exact-deep-x-y", match: [{ uri: { exact: "/deep/x/y" } }] },
      { name: "header-only", match: [{ headers: { "x-canary": { exact: "1" } } }] },
      {
        name: "header-and-method",
        match: [{ headers: { "x-canary": { exact: "2" } }, method: { exact: "POST" } }],
      },
      { name: "two-headers", match: [{ headers: { "x-canary": { exact: "3" }, "x-b": { exact: "1" } } }] },
      { name: "header-regex", match: [{ headers: { "x-canary": { regex: "[4-5]" } } }] },
      { name: "exact-and-query", match: [{ uri: { exact: "/q" }, queryParams: { debug: {} } }] },
      { name: "exact-a", match: [{ uri: { exact: "/a" } }] },
      { name: "prefix-a", match: [{ uri: { prefix: "/a" } }] },
      { name: "regex-items", match: [{ uri: { regex: "/items/[0-9]+" } }] },
      { name: "regex-optional", match: [{ uri: { regex: "/bx?/c" } }] },
      { name: "nocase-b", match: [{ uri: { prefix: "/B" }, ignoreUriCase: true }] },
      { name: "prefix-or-header", match: [{ uri: { prefix: "/items" } }, { headers: { "x-any": {} } }] },
      { name: "exact-a-again", match: [{ uri: { exact: "/a" } }] },
      { name: "prefix-root", match: [{ uri: { prefix: "/" } }] },
      { name: "never-reached", match: [{ uri: { prefix: "/z" } }] },
    ].map((rule) => ({ name: rule.name, match: rule.match, route: [subsetRoute("v1")] }));
    const table = tableFor(reviewsMesh({ hosts: ["reviews"], http: rules }));
    const routeName = (facts: RequestFacts) => {
      const decision = decideRoute(table, facts, Math.random);
      return decision.kind === "noRoute" ? "noRoute" : decision.route.name;
    };
    /** The reference: test every route in order, no index. */
    const linearName = (facts: RequestFacts) => {
      const vh = findVirtualHost(table, facts.authority);
      const path = facts.path.split("?")[0] ?? "";
      const input = {
        path,
        method: facts.method,
        authority: facts.authority,
        scheme: facts.scheme,
        headers: facts.headers,
        port: 80,
        query: () => new Map(new URLSearchParams(facts.path.split("?")[1] ?? "")),
        sourceLabels: undefined,
        sourceNamespace: undefined,
      };
      const found = vh?.routes.find((r) => r.matches.length === 0 || r.matches.some((m) => m(input)));
      return found ? found.route.name : "noRoute";
    };

    it("builds the path index for this host", () => {
      expect(findVirtualHost(table, "reviews")?.index).toBeDefined();
    });

    it("an earlier header-only rule beats an exact path match", () => {
      expect(routeName(request("reviews", "/a", { headers: { "x-canary": "1" } }))).toBe("header-only");
      expect(routeName(request("reviews", "/a"))).toBe("exact-a");
    });

    it("a prefix two levels up beats a later, deeper prefix and exact match", () => {
      expect(routeName(request("reviews", "/deep/x/y"))).toBe("prefix-deep");
      expect(routeName(request("reviews", "/deep/x"))).toBe("prefix-deep");
    });

    it("an earlier prefix beats a later exact match of the same path", () => {
      expect(routeName(request("reviews", "/ab"))).toBe("prefix-a");
      expect(routeName(request("reviews", "/a?x=1"))).toBe("exact-a");
    });

    it("regexes keep their place, including optional leading characters", () => {
      expect(routeName(request("reviews", "/items/12"))).toBe("regex-items");
      expect(routeName(request("reviews", "/items/x"))).toBe("prefix-or-header");
      expect(routeName(request("reviews", "/b/c"))).toBe("regex-optional");
      expect(routeName(request("reviews", "/bx/c"))).toBe("regex-optional");
    });

    it("ignoreUriCase rules and header alternatives are never skipped", () => {
      expect(routeName(request("reviews", "/bAR"))).toBe("nocase-b");
      expect(routeName(request("reviews", "/q", { headers: { "x-any": "" } }))).toBe("prefix-or-header");
      expect(routeName(request("reviews", "/z"))).toBe("prefix-root");
    });

    it("a header-keyed rule with another condition still checks that condition", () => {
      expect(routeName(request("reviews", "/a", { headers: { "x-canary": "2" } }))).toBe("exact-a");
      expect(routeName(request("reviews", "/a", { method: "POST", headers: { "x-canary": "2" } }))).toBe(
        "header-and-method",
      );
      expect(routeName(request("reviews", "/a", { headers: { "x-canary": "3" } }))).toBe("exact-a");
      expect(routeName(request("reviews", "/a", { headers: { "x-canary": "3", "x-b": "1" } }))).toBe(
        "two-headers",
      );
      expect(routeName(request("reviews", "/a", { headers: { "x-canary": "5" } }))).toBe("header-regex");
      expect(routeName(request("reviews", "/q"))).toBe("prefix-root");
      expect(routeName(request("reviews", "/q?debug"))).toBe("exact-and-query");
    });

    it("picks the same route as a linear scan for every request of a random sample", () => {
      const random = seededRandom(42);
      const paths = [
        "/f3",
        "/",
        "/a",
        "/ab",
        "/a/b",
        "/b/c",
        "/bx/c",
        "/B",
        "/b",
        "/items",
        "/items/7",
        "/z",
        "/zz",
        "/q",
        "/q?debug=1",
        "/deep/x/y",
        "/deep/x",
      ];
      const headerSets = [
        {},
        { "x-canary": "1" },
        { "x-canary": "2" },
        { "x-canary": "3" },
        { "x-canary": "3", "x-b": "1" },
        { "x-canary": "4" },
        { "x-any": "" },
      ];
      for (let i = 0; i < 1000; i++) {
        const path = paths[Math.floor(random() * paths.length)] ?? "/";
        const headers = headerSets[Math.floor(random() * headerSets.length)] ?? {};
        const method = random() < 0.5 ? "GET" : "POST";
        const facts = request("reviews", path, { headers, method });
        expect(routeName(facts), `${path} ${JSON.stringify(headers)}`).toBe(linearName(facts));
      }
    });
  });
}
