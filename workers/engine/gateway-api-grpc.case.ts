import { describe, expect, it } from "vitest";
import type { ProxyIdentity } from "../../control/compile/snapshot.ts";
import { decideRoute, type RequestFacts, type RouteDecision } from "./decide-route.ts";
import { seededRandom } from "./engine-fixtures.ts";
import {
  backend,
  backendOf,
  conformanceInfra,
  GATEWAY_API,
  gatewayTable,
  httpRoute,
  INFRA,
} from "./gateway-api-fixtures.ts";
import { applyHeaderPolicies, headerPoliciesFor } from "./header-mutation.ts";
import { pickMirrors } from "./mirror.ts";
import type { RouteTable } from "./route-table.ts";

/**
 * GRPCRoute behaviours after kubernetes-sigs/gateway-api `conformance/tests/grpcroute-*.go`
 * (exact method matching, header matching, listener hostnames, weights, header modifiers,
 * mirrors) and the mesh (GAMMA) profile, written as our own cases: real GRPCRoute documents
 * validated and compiled, then the engine's decision for a gRPC call (`POST /<service>/<method>`).
 * Shared by Node and workerd.
 */

const ECHO = "gateway_api_conformance.echo_basic.grpcecho.GrpcEcho";

function grpcRoute(name: string, spec: Record<string, unknown>, namespace = INFRA): object {
  return {
    apiVersion: GATEWAY_API,
    kind: "GRPCRoute",
    metadata: { name, namespace },
    spec: { parentRefs: [{ name: "same-namespace" }], ...spec },
  };
}

const call = (
  service: string,
  method: string,
  headers: Record<string, string> = {},
  authority = "grpc.example",
): RequestFacts => ({
  authority,
  path: `/${service}/${method}`,
  method: "POST",
  scheme: "http",
  headers: { "content-type": "application/grpc", te: "trailers", ...headers },
});

function outcome(d: RouteDecision): string {
  if (d.kind === "forward") return backendOf(d.cluster.name);
  return d.kind === "direct" ? `direct ${d.status}` : d.kind;
}

const decide = (table: RouteTable, facts: RequestFacts) => outcome(decideRoute(table, facts, Math.random));
const to = (name: string, extra: object = {}) => ({ name, port: 8080, ...extra });
const exact = (service: string | undefined, method: string | undefined) => ({
  method: { ...(service ? { service } : {}), ...(method ? { method } : {}) },
});

export function defineGatewayApiGrpcCases(): void {
  describe("Gateway API GRPCRoute: matching", () => {
    const { table, diagnostics } = gatewayTable([
      ...conformanceInfra(),
      grpcRoute("exact-matching", {
        rules: [
          { matches: [exact(ECHO, "Echo")], backendRefs: [to("infra-backend-v1")] },
          { matches: [exact(ECHO, "EchoTwo")], backendRefs: [to("infra-backend-v2")] },
        ],
      }),
      grpcRoute("service-and-method-only", {
        rules: [
          { matches: [exact("other.Store", undefined)], backendRefs: [to("infra-backend-v3")] },
          { matches: [exact(undefined, "Ping")], backendRefs: [to("infra-backend-v2")] },
        ],
      }),
    ]);

    it("routes exact service and method (GRPCExactMethodMatching); other methods find no route", () => {
      expect(diagnostics.filter((d) => d.severity === "error")).toEqual([]);
      expect(decide(table, call(ECHO, "Echo"))).toBe("infra-backend-v1");
      expect(decide(table, call(ECHO, "EchoTwo"))).toBe("infra-backend-v2");
      expect(decide(table, call(ECHO, "EchoThree"))).toBe("noRoute");
      expect(decide(table, call(`${ECHO}X`, "Echo"))).toBe("noRoute");
    });

    it("matches a service alone (any of its methods) and a method alone (in any service)", () => {
      expect(decide(table, call("other.Store", "Get"))).toBe("infra-backend-v3");
      expect(decide(table, call("other.Store", "Put"))).toBe("infra-backend-v3");
      expect(decide(table, call("other.StoreAdmin", "Get"))).toBe("noRoute");
      expect(decide(table, call("health.Checker", "Ping"))).toBe("infra-backend-v2");
      expect(decide(table, call("health.Checker", "PingAll"))).toBe("noRoute");
      // Both match: the longer matching service wins over a method alone (GRPCRoute precedence).
      expect(decide(table, call("other.Store", "Ping"))).toBe("infra-backend-v3");
    });

    it("orders by GRPCRoute precedence: service characters, then method characters, then headers", () => {
      const { table: ordered } = gatewayTable([
        ...conformanceInfra(),
        grpcRoute("precedence", {
          rules: [
            { matches: [exact(undefined, "Echo")], backendRefs: [to("infra-backend-v1")] },
            { matches: [exact(ECHO, undefined)], backendRefs: [to("infra-backend-v2")] },
            {
              matches: [{ ...exact(ECHO, undefined), headers: [{ name: "x-pin", value: "v1" }] }],
              backendRefs: [to("infra-backend-v1")],
            },
            { matches: [exact(ECHO, "Echo")], backendRefs: [to("infra-backend-v3")] },
          ],
        }),
      ]);
      expect(decide(ordered, call(ECHO, "Echo", { "x-pin": "v1" }))).toBe("infra-backend-v3");
      expect(decide(ordered, call(ECHO, "EchoTwo", { "x-pin": "v1" }))).toBe("infra-backend-v1");
      expect(decide(ordered, call(ECHO, "EchoTwo"))).toBe("infra-backend-v2");
      expect(decide(ordered, call("x.Other", "Echo"))).toBe("infra-backend-v1");
    });

    it("matches headers, ANDed with the method and ORed across matches (GRPCRouteHeaderMatching)", () => {
      const { table: headers } = gatewayTable([
        ...conformanceInfra(),
        grpcRoute("header-matching", {
          rules: [
            {
              matches: [{ headers: [{ name: "version", value: "one" }] }],
              backendRefs: [to("infra-backend-v1")],
            },
            {
              matches: [
                { ...exact(ECHO, "Echo"), headers: [{ name: "version", value: "two" }] },
                { headers: [{ type: "RegularExpression", name: "color", value: "gr[ae]y" }] },
              ],
              backendRefs: [to("infra-backend-v2")],
            },
          ],
        }),
      ]);
      expect(decide(headers, call(ECHO, "Echo", { version: "one" }))).toBe("infra-backend-v1");
      expect(decide(headers, call(ECHO, "Echo", { version: "two" }))).toBe("infra-backend-v2");
      expect(decide(headers, call(ECHO, "EchoTwo", { version: "two" }))).toBe("noRoute");
      expect(decide(headers, call(ECHO, "EchoTwo", { color: "grey" }))).toBe("infra-backend-v2");
      expect(decide(headers, call(ECHO, "Echo"))).toBe("noRoute");
    });

    it("matches RegularExpression service and method against whole names", () => {
      const { table: regex } = gatewayTable([
        ...conformanceInfra(),
        grpcRoute("regex", {
          rules: [
            {
              matches: [
                { method: { type: "RegularExpression", service: ".*\\.GrpcEcho", method: "Echo.*" } },
              ],
              backendRefs: [to("infra-backend-v3")],
            },
          ],
        }),
      ]);
      expect(decide(regex, call(ECHO, "EchoTwo"))).toBe("infra-backend-v3");
      expect(decide(regex, call("x.GrpcEcho", "Echo"))).toBe("infra-backend-v3");
      expect(decide(regex, call("x.GrpcEchoes", "Echo"))).toBe("noRoute");
      expect(decide(regex, call(ECHO, "Ping"))).toBe("noRoute");
    });

    it("keeps to the listener's hostname (GRPCRouteListenerHostnameMatching)", () => {
      const { table: hosts } = gatewayTable([
        ...conformanceInfra(),
        grpcRoute("hosts", {
          hostnames: ["grpc.example"],
          rules: [{ backendRefs: [to("infra-backend-v1")] }],
        }),
        grpcRoute("other-host", {
          hostnames: ["other.example"],
          rules: [{ backendRefs: [to("infra-backend-v2")] }],
        }),
      ]);
      expect(decide(hosts, call(ECHO, "Echo"))).toBe("infra-backend-v1");
      expect(decide(hosts, call(ECHO, "Echo", {}, "other.example"))).toBe("infra-backend-v2");
      expect(decide(hosts, call(ECHO, "Echo", {}, "third.example"))).toBe("noRoute");
    });

    it("never shares a hostname with an HTTPRoute on a listener: the older route takes it, the other is Conflicted", () => {
      const docs = (grpcCreated: string, webCreated: string) => [
        ...conformanceInfra(),
        {
          ...(grpcRoute("grpc", {
            hostnames: ["shared.example", "grpc.example"],
            rules: [{ backendRefs: [to("infra-backend-v1")] }],
          }) as { metadata: object }),
          metadata: { name: "grpc", namespace: INFRA, creationTimestamp: grpcCreated },
        },
        httpRoute(
          "web",
          { hostnames: ["*.example"], rules: [{ backendRefs: [to("infra-backend-v2")] }] },
          { created: webCreated },
        ),
      ];
      const conflicted = (d: { code: string; resource: string; message: string }[]) =>
        d.filter((x) => x.code === "JIBE2060" && x.message.includes("(Conflicted)")).map((x) => x.resource);
      const grpcFirst = gatewayTable(docs("2026-01-01T00:00:00Z", "2026-02-01T00:00:00Z"));
      expect(conflicted(grpcFirst.diagnostics)).toEqual([`HTTPRoute/${INFRA}/web`]);
      expect(decide(grpcFirst.table, call(ECHO, "Echo", {}, "shared.example"))).toBe("infra-backend-v1");
      expect(decide(grpcFirst.table, call(ECHO, "Echo", {}, "web.example"))).toBe("noRoute");
      const webFirst = gatewayTable(docs("2026-02-01T00:00:00Z", "2026-01-01T00:00:00Z"));
      expect(conflicted(webFirst.diagnostics)).toEqual([`GRPCRoute/${INFRA}/grpc`]);
      expect(decide(webFirst.table, call(ECHO, "Echo", {}, "shared.example"))).toBe("infra-backend-v2");
    });

    it("serves HTTPRoutes and GRPCRoutes side by side on different hostnames", () => {
      const { table, diagnostics } = gatewayTable([
        ...conformanceInfra(),
        grpcRoute("grpc", {
          hostnames: ["grpc.example"],
          rules: [{ backendRefs: [to("infra-backend-v1")] }],
        }),
        httpRoute("web", { hostnames: ["web.example"], rules: [{ backendRefs: [to("infra-backend-v2")] }] }),
      ]);
      expect(diagnostics.filter((d) => d.code === "JIBE2060")).toEqual([]);
      expect(decide(table, call(ECHO, "Echo"))).toBe("infra-backend-v1");
      expect(decide(table, { ...call(ECHO, "Echo", {}, "web.example"), path: "/", method: "GET" })).toBe(
        "infra-backend-v2",
      );
    });
  });

  describe("Gateway API GRPCRoute: backends and filters", () => {
    const { table } = gatewayTable([
      ...conformanceInfra(),
      grpcRoute("filters", {
        rules: [
          {
            matches: [exact(ECHO, "Echo")],
            filters: [
              {
                type: "RequestHeaderModifier",
                requestHeaderModifier: {
                  set: [{ name: "X-Header-Set", value: "set-overwrites-values" }],
                  add: [{ name: "X-Header-Add", value: "header-val-1" }],
                  remove: ["X-Header-Remove"],
                },
              },
              {
                type: "ResponseHeaderModifier",
                responseHeaderModifier: { set: [{ name: "X-Response", value: "grpc" }] },
              },
              { type: "RequestMirror", requestMirror: { backendRef: to("infra-backend-v3") } },
            ],
            backendRefs: [to("infra-backend-v1")],
          },
          {
            matches: [exact(ECHO, "EchoTwo")],
            backendRefs: [to("infra-backend-v1", { weight: 70 }), to("infra-backend-v2", { weight: 30 })],
          },
          { matches: [exact(ECHO, "EchoThree")], backendRefs: [to("no-such-backend")] },
        ],
      }),
    ]);

    it("splits calls by weight (GRPCRouteWeight)", () => {
      const random = seededRandom(11);
      const counts = new Map<string, number>();
      for (let i = 0; i < 4000; i++) {
        const name = outcome(decideRoute(table, call(ECHO, "EchoTwo"), random));
        counts.set(name, (counts.get(name) ?? 0) + 1);
      }
      expect((counts.get("infra-backend-v1") ?? 0) / 4000).toBeCloseTo(0.7, 1);
      expect((counts.get("infra-backend-v2") ?? 0) / 4000).toBeCloseTo(0.3, 1);
    });

    it("modifies request and response headers and mirrors every call", () => {
      const d = decideRoute(
        table,
        call(ECHO, "Echo", { "x-header-remove": "gone", "x-header-set": "old" }),
        Math.random,
      );
      if (d.kind !== "forward") throw new Error(`expected a forward, got ${d.kind}`);
      const policies = headerPoliciesFor(d.route, d.destination);
      const request = new Headers({ "x-header-remove": "gone", "x-header-set": "old" });
      applyHeaderPolicies(request, policies, "request");
      expect(Object.fromEntries(request.entries())).toEqual({
        "x-header-add": "header-val-1",
        "x-header-set": "set-overwrites-values",
      });
      const response = new Headers();
      applyHeaderPolicies(response, policies, "response");
      expect(response.get("x-response")).toBe("grpc");
      const mirrors = d.route.action.kind === "route" ? d.route.action.mirrors : undefined;
      expect(pickMirrors(mirrors, Math.random).map(backendOf)).toEqual(["infra-backend-v3"]);
    });

    it("answers 503 (gRPC UNAVAILABLE) for a method whose only backend does not resolve, and reports it", () => {
      const { table: broken, diagnostics } = gatewayTable([
        ...conformanceInfra(),
        grpcRoute("broken", { rules: [{ backendRefs: [to("no-such-backend")] }] }),
      ]);
      expect(decide(broken, call(ECHO, "Echo"))).toBe("direct 503");
      expect(diagnostics.find((d) => d.code === "JIBE2061")).toMatchObject({
        resource: `GRPCRoute/${INFRA}/broken`,
        path: "spec.rules[0].backendRefs[0]",
      });
      expect(decide(table, call(ECHO, "EchoThree"))).toBe("direct 503");
    });
  });

  describe("Gateway API GRPCRoute: cross-namespace backends", () => {
    const grant = (kind: string) => ({
      apiVersion: "gateway.networking.k8s.io/v1beta1",
      kind: "ReferenceGrant",
      metadata: { name: "grpc-backends", namespace: "backends" },
      spec: {
        from: [{ group: "gateway.networking.k8s.io", kind, namespace: INFRA }],
        to: [{ group: "", kind: "Service" }],
      },
    });
    const docs = (kind: string) => [
      ...conformanceInfra(),
      ...backend("remote", 18085, "backends"),
      grant(kind),
      grpcRoute("remote", {
        rules: [{ backendRefs: [{ name: "remote", namespace: "backends", port: 8080 }] }],
      }),
    ];

    it("needs a ReferenceGrant from GRPCRoutes; one from HTTPRoutes does not cover them", () => {
      expect(decide(gatewayTable(docs("GRPCRoute")).table, call(ECHO, "Echo"))).toBe("remote");
      const refused = gatewayTable(docs("HTTPRoute"));
      expect(decide(refused.table, call(ECHO, "Echo"))).toBe("direct 503");
      expect(refused.diagnostics.find((d) => d.code === "JIBE2061")?.message).toContain("RefNotPermitted");
    });
  });

  describe("Gateway API GRPCRoute: mesh (GAMMA)", () => {
    const MESH = "grpc-mesh";
    const client: ProxyIdentity = { id: "sidecar~client", role: "sidecar", namespace: MESH, labels: {} };
    const meshDocs = (rules: object[]) => [
      ...backend("echo", 18080, MESH),
      ...backend("echo-v2", 18082, MESH),
      grpcRoute("echo", { parentRefs: [{ group: "", kind: "Service", name: "echo" }], rules }, MESH),
    ];

    it("routes calls a sidecar sends to the parent Service", () => {
      const { table, diagnostics } = gatewayTable(
        meshDocs([
          {
            matches: [exact(ECHO, "EchoTwo")],
            backendRefs: [{ name: "echo-v2", port: 8080 }],
          },
          { backendRefs: [{ name: "echo", port: 8080 }] },
        ]),
        client,
      );
      expect(diagnostics.filter((d) => d.code === "JIBE2060" || d.severity === "error")).toEqual([]);
      const authority = `echo.${MESH}.svc.cluster.local:8080`;
      expect(decide(table, call(ECHO, "EchoTwo", {}, authority))).toBe("echo-v2");
      expect(decide(table, call(ECHO, "Echo", {}, authority))).toBe("echo");
      expect(decide(table, call(ECHO, "EchoTwo", {}, `echo-v2.${MESH}.svc.cluster.local:8080`))).toBe(
        "echo-v2",
      );
    });

    it("wins over an HTTPRoute on the same Service, which is reported Conflicted (GEP-1426)", () => {
      const web = httpRoute(
        "echo-web",
        {
          parentRefs: [{ group: "", kind: "Service", name: "echo" }],
          rules: [{ backendRefs: [{ name: "echo-v2", port: 8080 }] }],
        },
        { namespace: MESH },
      );
      const { table, diagnostics } = gatewayTable(
        [...meshDocs([{ backendRefs: [{ name: "echo", port: 8080 }] }]), web],
        client,
      );
      const authority = `echo.${MESH}.svc.cluster.local:8080`;
      expect(decide(table, call(ECHO, "Echo", {}, authority))).toBe("echo");
      expect(decide(table, { ...call(ECHO, "Echo", {}, authority), path: "/web", method: "GET" })).toBe(
        "echo",
      );
      expect(
        diagnostics
          .filter((d) => d.code === "JIBE2060")
          .map((d) => `${d.resource} ${d.message.includes("(Conflicted)")}`),
      ).toEqual([`HTTPRoute/${MESH}/echo-web true`]);
    });
  });
}
