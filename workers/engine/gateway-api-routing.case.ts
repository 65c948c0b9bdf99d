import { describe, expect, it } from "vitest";
import { decideRoute, type RequestFacts, type RouteDecision } from "./decide-route.ts";
import { seededRandom } from "./engine-fixtures.ts";
import {
  backend,
  backendOf,
  conformanceInfra,
  gatewayTable,
  httpRoute,
  INFRA,
  k8sGateway,
} from "./gateway-api-fixtures.ts";
import type { RouteTable } from "./route-table.ts";

/**
 * The HTTPRoute conformance behaviours of kubernetes-sigs/gateway-api (`conformance/tests/
 * httproute-*.go`) on matching, precedence, hostnames, weights and backend resolution, written as
 * our own cases: real HTTPRoute documents validated and compiled, then the engine's decision.
 * Shared by gateway-api.test.ts (Node) and gateway-api.worker.test.ts (workerd).
 */

const req = (
  path: string,
  headers: Record<string, string> = {},
  extra: Partial<RequestFacts> = {},
): RequestFacts => ({
  authority: "gateway.example",
  path,
  method: "GET",
  scheme: "http",
  headers,
  ...extra,
});

/** Backend name for a forward, `direct <status>`, `redirect <status> <location>` or `noRoute`. */
function outcome(d: RouteDecision): string {
  switch (d.kind) {
    case "forward":
      return backendOf(d.cluster.name);
    case "direct":
      return `direct ${d.status}`;
    case "redirect":
      return `redirect ${d.status} ${d.location}`;
    case "noRoute":
      return "noRoute";
    default: {
      const _exhaustive: never = d;
      return _exhaustive;
    }
  }
}

const decide = (table: RouteTable, facts: RequestFacts) => outcome(decideRoute(table, facts, Math.random));
const to = (name: string, extra: object = {}) => ({ name, port: 8080, ...extra });

export function defineGatewayApiRoutingCases(): void {
  describe("Gateway API HTTPRoute: matching (HTTPRouteMatching, HTTPRoutePathMatchOrder)", () => {
    it("ORs across matches, ANDs within, and prefers the match with more headers", () => {
      const { table, diagnostics } = gatewayTable([
        ...conformanceInfra(),
        httpRoute("matching", {
          rules: [
            {
              matches: [
                { path: { type: "PathPrefix", value: "/" } },
                { headers: [{ name: "version", value: "one" }] },
              ],
              backendRefs: [to("infra-backend-v1")],
            },
            {
              matches: [
                { path: { type: "PathPrefix", value: "/v2" } },
                { headers: [{ name: "version", value: "two" }] },
              ],
              backendRefs: [to("infra-backend-v2")],
            },
          ],
        }),
      ]);
      expect(diagnostics.filter((d) => d.severity === "error")).toEqual([]);
      expect(decide(table, req("/"))).toBe("infra-backend-v1");
      expect(decide(table, req("/example"))).toBe("infra-backend-v1");
      expect(decide(table, req("/", { version: "one" }))).toBe("infra-backend-v1");
      expect(decide(table, req("/v2"))).toBe("infra-backend-v2");
      expect(decide(table, req("/v2/example"))).toBe("infra-backend-v2");
      expect(decide(table, req("/", { version: "two" }))).toBe("infra-backend-v2");
    });

    it("orders by precedence, not by rule order: exact path, then the longest prefix", () => {
      const rule = (type: string, value: string, backendName: string) => ({
        matches: [{ path: { type, value } }],
        backendRefs: [to(backendName)],
      });
      const { table } = gatewayTable([
        ...conformanceInfra(),
        httpRoute("path-matching-order", {
          rules: [
            rule("PathPrefix", "/match", "infra-backend-v3"),
            rule("PathPrefix", "/match/prefix", "infra-backend-v1"),
            rule("Exact", "/match", "infra-backend-v1"),
            rule("PathPrefix", "/match/prefix/one", "infra-backend-v2"),
            rule("Exact", "/match/exact", "infra-backend-v2"),
            rule("Exact", "/match/exact/one", "infra-backend-v3"),
          ],
        }),
      ]);
      expect(decide(table, req("/match/exact/one"))).toBe("infra-backend-v3");
      expect(decide(table, req("/match/exact"))).toBe("infra-backend-v2");
      expect(decide(table, req("/match"))).toBe("infra-backend-v1");
      expect(decide(table, req("/match/prefix/one/any"))).toBe("infra-backend-v2");
      expect(decide(table, req("/match/prefix/any"))).toBe("infra-backend-v1");
      expect(decide(table, req("/match/any"))).toBe("infra-backend-v3");
    });

    it("matches PathPrefix element by element: /foo matches /foo and /foo/x, never /foobar", () => {
      const { table } = gatewayTable([
        ...conformanceInfra(),
        httpRoute("prefix", {
          rules: [
            {
              matches: [{ path: { type: "PathPrefix", value: "/foo/" } }],
              backendRefs: [to("infra-backend-v1")],
            },
          ],
        }),
      ]);
      expect(decide(table, req("/foo"))).toBe("infra-backend-v1");
      expect(decide(table, req("/foo/"))).toBe("infra-backend-v1");
      expect(decide(table, req("/foo/bar?x=1"))).toBe("infra-backend-v1");
      expect(decide(table, req("/foobar"))).toBe("noRoute");
    });

    it("matches headers (case-insensitive names, Exact/RegularExpression), query params and method", () => {
      const { table } = gatewayTable([
        ...conformanceInfra(),
        httpRoute("conditions", {
          rules: [
            {
              matches: [{ headers: [{ name: "X-Version", type: "RegularExpression", value: "v[0-9]+" }] }],
              backendRefs: [to("infra-backend-v2")],
            },
            {
              matches: [{ queryParams: [{ name: "animal", value: "whale" }] }],
              backendRefs: [to("infra-backend-v3")],
            },
            { matches: [{ method: "POST" }], backendRefs: [to("infra-backend-v1")] },
          ],
        }),
      ]);
      expect(decide(table, req("/", { "x-version": "v12" }))).toBe("infra-backend-v2");
      expect(decide(table, req("/", { "x-version": "beta" }))).toBe("noRoute");
      expect(decide(table, req("/?animal=whale"))).toBe("infra-backend-v3");
      expect(decide(table, req("/?animal=dolphin"))).toBe("noRoute");
      expect(decide(table, req("/", {}, { method: "POST" }))).toBe("infra-backend-v1");
      expect(decide(table, req("/", {}, { method: "GET" }))).toBe("noRoute");
    });

    it("merges routes of one hostname across HTTPRoutes; on a tie the oldest route wins", () => {
      const same = (name: string, backendName: string, created: string) =>
        httpRoute(
          name,
          {
            rules: [
              { matches: [{ path: { type: "PathPrefix", value: "/tie" } }], backendRefs: [to(backendName)] },
            ],
          },
          { created },
        );
      const { table } = gatewayTable([
        ...conformanceInfra(),
        same("newer", "infra-backend-v2", "2024-02-01T00:00:00Z"),
        same("older", "infra-backend-v1", "2024-01-01T00:00:00Z"),
        httpRoute("exact", {
          rules: [
            {
              matches: [{ path: { type: "Exact", value: "/tie/x" } }],
              backendRefs: [to("infra-backend-v3")],
            },
          ],
        }),
      ]);
      expect(decide(table, req("/tie/y"))).toBe("infra-backend-v1");
      expect(decide(table, req("/tie/x"))).toBe("infra-backend-v3");
    });
  });

  describe("Gateway API HTTPRoute: attachment and hostnames", () => {
    const listeners = [
      {
        name: "wild",
        port: 80,
        protocol: "HTTP",
        hostname: "*.example.com",
        allowedRoutes: { namespaces: { from: "All" } },
      },
    ];

    it("intersects route hostnames with the listener's (HTTPRouteHostnameIntersection)", () => {
      const { table, diagnostics } = gatewayTable([
        k8sGateway("same-namespace", listeners),
        ...backend("infra-backend-v1", 18081),
        httpRoute("hosts", {
          hostnames: ["a.example.com", "other.org"],
          rules: [{ backendRefs: [to("infra-backend-v1")] }],
        }),
        httpRoute("wider", {
          hostnames: ["*.b.example.com"],
          rules: [{ backendRefs: [to("infra-backend-v1")] }],
        }),
        httpRoute("none", { hostnames: ["other.org"], rules: [{ backendRefs: [to("infra-backend-v1")] }] }),
      ]);
      expect(decide(table, req("/", {}, { authority: "a.example.com" }))).toBe("infra-backend-v1");
      expect(decide(table, req("/", {}, { authority: "x.b.example.com:80" }))).toBe("infra-backend-v1");
      expect(decide(table, req("/", {}, { authority: "other.org" }))).toBe("noRoute");
      expect(diagnostics).toContainEqual(
        expect.objectContaining({ code: "JIBE2060", resource: `HTTPRoute/${INFRA}/none` }),
      );
    });

    it("keeps listeners apart by hostname (HTTPRouteListenerHostnameMatching)", () => {
      const listener = (name: string, hostname: string) => ({ name, port: 80, protocol: "HTTP", hostname });
      const attach = (name: string, sections: string[], backendName: string) =>
        httpRoute(name, {
          parentRefs: sections.map((sectionName) => ({ name: "same-namespace", sectionName })),
          rules: [{ backendRefs: [to(backendName)] }],
        });
      const { table } = gatewayTable([
        k8sGateway("same-namespace", [
          listener("listener-1", "bar.com"),
          listener("listener-2", "foo.bar.com"),
          listener("listener-3", "*.bar.com"),
          listener("listener-4", "*.foo.com"),
        ]),
        ...backend("infra-backend-v1", 18081),
        ...backend("infra-backend-v2", 18082),
        ...backend("infra-backend-v3", 18083),
        attach("backend-v1", ["listener-1"], "infra-backend-v1"),
        attach("backend-v2", ["listener-2"], "infra-backend-v2"),
        attach("backend-v3", ["listener-3", "listener-4"], "infra-backend-v3"),
      ]);
      const at = (authority: string) => decide(table, req("/", {}, { authority }));
      expect(at("bar.com")).toBe("infra-backend-v1");
      expect(at("foo.bar.com")).toBe("infra-backend-v2");
      expect(at("baz.bar.com")).toBe("infra-backend-v3");
      expect(at("multiple.prefixes.bar.com")).toBe("infra-backend-v3");
      expect(at("multiple.prefixes.foo.com")).toBe("infra-backend-v3");
      expect(at("foo.com")).toBe("noRoute");
      expect(at("no.matching.host")).toBe("noRoute");
    });

    it("attaches routes from other namespaces only when allowedRoutes says All", () => {
      const infra = [
        ...backend("svc", 18081, "apps"),
        httpRoute(
          "app",
          { parentRefs: [{ name: "gw", namespace: INFRA }], rules: [{ backendRefs: [to("svc")] }] },
          { namespace: "apps" },
        ),
      ];
      const same = gatewayTable(
        [k8sGateway("gw", [{ name: "http", port: 80, protocol: "HTTP" }]), ...infra],
        {
          id: "gw",
          role: "gateway",
          namespace: INFRA,
          labels: {},
          gateways: [`${INFRA}/gw`],
        },
      );
      expect(decide(same.table, req("/"))).toBe("noRoute");
      expect(same.diagnostics).toContainEqual(expect.objectContaining({ code: "JIBE2060" }));
      const all = gatewayTable(
        [
          k8sGateway("gw", [
            { name: "http", port: 80, protocol: "HTTP", allowedRoutes: { namespaces: { from: "All" } } },
          ]),
          ...infra,
        ],
        {
          id: "gw",
          role: "gateway",
          namespace: INFRA,
          labels: {},
          gateways: [`${INFRA}/gw`],
        },
      );
      expect(decide(all.table, req("/"))).toBe("svc");
    });

    it("attaches to the listener a sectionName names, and to nothing for an unknown one", () => {
      const gw = k8sGateway("same-namespace", [
        { name: "a", port: 80, protocol: "HTTP", hostname: "a.example.com" },
        { name: "b", port: 80, protocol: "HTTP", hostname: "b.example.com" },
      ]);
      const { table, diagnostics } = gatewayTable([
        gw,
        ...backend("infra-backend-v1", 18081),
        httpRoute("to-a", {
          parentRefs: [{ name: "same-namespace", sectionName: "a" }],
          rules: [{ backendRefs: [to("infra-backend-v1")] }],
        }),
        httpRoute("to-c", {
          parentRefs: [{ name: "same-namespace", sectionName: "c" }],
          rules: [{ backendRefs: [to("infra-backend-v1")] }],
        }),
      ]);
      expect(decide(table, req("/", {}, { authority: "a.example.com" }))).toBe("infra-backend-v1");
      expect(decide(table, req("/", {}, { authority: "b.example.com" }))).toBe("noRoute");
      expect(diagnostics).toContainEqual(
        expect.objectContaining({ code: "JIBE2060", resource: `HTTPRoute/${INFRA}/to-c` }),
      );
    });
  });

  describe("Gateway API HTTPRoute: weights and backends", () => {
    it("splits by weight within tolerance; weight 0 gets nothing (HTTPRouteWeight)", () => {
      const { table } = gatewayTable([
        ...conformanceInfra(),
        httpRoute("weighted", {
          rules: [
            {
              backendRefs: [
                to("infra-backend-v1", { weight: 70 }),
                to("infra-backend-v2", { weight: 30 }),
                to("infra-backend-v3", { weight: 0 }),
              ],
            },
          ],
        }),
      ]);
      const random = seededRandom(5);
      const counts: Record<string, number> = {};
      const n = 10_000;
      for (let i = 0; i < n; i++) {
        const o = outcome(decideRoute(table, req("/"), random));
        counts[o] = (counts[o] ?? 0) + 1;
      }
      expect(Object.keys(counts).sort()).toEqual(["infra-backend-v1", "infra-backend-v2"]);
      expect((counts["infra-backend-v1"] ?? 0) / n).toBeCloseTo(0.7, 1);
      expect((counts["infra-backend-v2"] ?? 0) / n).toBeCloseTo(0.3, 1);
    });

    it("answers 500 when every backend weighs 0 or there is none (HTTPRouteAllBackendsWeightZero)", () => {
      const { table } = gatewayTable([
        ...conformanceInfra(),
        httpRoute("zero", {
          rules: [
            {
              matches: [{ path: { value: "/zero" } }],
              backendRefs: [to("infra-backend-v1", { weight: 0 }), to("infra-backend-v2", { weight: 0 })],
            },
            { matches: [{ path: { value: "/none" } }] },
          ],
        }),
      ]);
      expect(decide(table, req("/zero"))).toBe("direct 500");
      expect(decide(table, req("/none"))).toBe("direct 500");
    });

    it("answers 500 for invalid backends and reports them (HTTPRouteInvalidNonExistentBackendRef, ...UnknownKind)", () => {
      const { table, diagnostics } = gatewayTable([
        ...conformanceInfra(),
        httpRoute("invalid", {
          rules: [
            { matches: [{ path: { value: "/missing" } }], backendRefs: [to("no-such-service")] },
            {
              matches: [{ path: { value: "/kind" } }],
              backendRefs: [{ group: "unknown.example", kind: "Widget", name: "w" }],
            },
            {
              matches: [{ path: { value: "/port" } }],
              backendRefs: [{ name: "infra-backend-v1", port: 9999 }],
            },
          ],
        }),
      ]);
      for (const path of ["/missing", "/kind", "/port"]) expect(decide(table, req(path))).toBe("direct 500");
      expect(diagnostics.filter((d) => d.code === "JIBE2061").map((d) => d.path)).toEqual([
        "spec.rules[0].backendRefs[0]",
        "spec.rules[1].backendRefs[0]",
        "spec.rules[2].backendRefs[0]",
      ]);
    });

    it("answers 500 for the share of requests an invalid backend would get (HTTPRoutePartiallyInvalid...)", () => {
      const { table } = gatewayTable([
        ...conformanceInfra(),
        httpRoute("partial", { rules: [{ backendRefs: [to("infra-backend-v1"), to("no-such-service")] }] }),
      ]);
      const random = seededRandom(9);
      const counts: Record<string, number> = {};
      for (let i = 0; i < 4000; i++) {
        const o = outcome(decideRoute(table, req("/"), random));
        counts[o] = (counts[o] ?? 0) + 1 / 4000;
      }
      expect(Object.keys(counts).sort()).toEqual(["direct 500", "infra-backend-v1"]);
      expect(counts["direct 500"]).toBeCloseTo(0.5, 1);
    });

    it("needs a ReferenceGrant for a backend in another namespace (HTTPRouteInvalidCrossNamespaceBackendRef)", () => {
      const docs = [
        ...conformanceInfra(),
        ...backend("web-backend", 18090, "gateway-conformance-web-backend"),
        httpRoute("cross", {
          rules: [{ backendRefs: [to("web-backend", { namespace: "gateway-conformance-web-backend" })] }],
        }),
      ];
      const denied = gatewayTable(docs);
      expect(decide(denied.table, req("/"))).toBe("direct 500");
      expect(denied.diagnostics).toContainEqual(
        expect.objectContaining({ code: "JIBE2061", message: expect.stringContaining("RefNotPermitted") }),
      );
      const grant = {
        apiVersion: "gateway.networking.k8s.io/v1beta1",
        kind: "ReferenceGrant",
        metadata: { name: "allow", namespace: "gateway-conformance-web-backend" },
        spec: {
          from: [{ group: "gateway.networking.k8s.io", kind: "HTTPRoute", namespace: INFRA }],
          to: [{ group: "", kind: "Service" }],
        },
      };
      expect(decide(gatewayTable([...docs, grant]).table, req("/"))).toBe("web-backend");
    });
  });
}
