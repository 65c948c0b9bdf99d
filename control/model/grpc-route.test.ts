import { describe, expect, it } from "vitest";
import { resolveKind } from "./kinds.ts";
import { validateResource } from "./validate.ts";

const grpcRoute = (spec: object, apiVersion = "gateway.networking.k8s.io/v1") => ({
  apiVersion,
  kind: "GRPCRoute",
  metadata: { name: "echo", namespace: "apps" },
  spec: { parentRefs: [{ name: "gw" }], ...spec },
});

const gateway = (allowedRoutes: object) => ({
  apiVersion: "gateway.networking.k8s.io/v1",
  kind: "Gateway",
  metadata: { name: "shared", namespace: "infra" },
  spec: {
    gatewayClassName: "jibe",
    listeners: [{ name: "http", port: 80, protocol: "HTTP", allowedRoutes }],
  },
});

/** `code path` of each error a document gets. */
function errors(doc: object): string[] {
  return validateResource(doc)
    .diagnostics.filter((d) => d.severity === "error")
    .map((d) => `${d.code} ${d.path}`);
}

describe("GRPCRoute", () => {
  it("accepts a full GRPCRoute (v1 and v1alpha2) and resolves grpcroutes", () => {
    const spec = {
      hostnames: ["grpc.example.com"],
      rules: [
        {
          matches: [
            {
              method: { service: "helloworld.Greeter", method: "SayHello" },
              headers: [{ name: "x-v", type: "RegularExpression", value: "v[0-9]" }],
            },
            { method: { type: "RegularExpression", service: "helloworld\\..*" } },
          ],
          filters: [
            { type: "RequestHeaderModifier", requestHeaderModifier: { set: [{ name: "x-a", value: "1" }] } },
            { type: "RequestMirror", requestMirror: { backendRef: { name: "shadow", port: 50051 } } },
          ],
          backendRefs: [
            { name: "greeter-v1", port: 50051, weight: 90 },
            { name: "greeter-v2", port: 50051, weight: 10 },
          ],
        },
      ],
    };
    for (const apiVersion of ["gateway.networking.k8s.io/v1", "gateway.networking.k8s.io/v1alpha2"])
      expect(validateResource(grpcRoute(spec, apiVersion)).ok).toBe(true);
    expect(resolveKind("grpcroutes")).toBe("GRPCRoute");
    expect(resolveKind("grpcroutes.gateway.networking.k8s.io")).toBe("GRPCRoute");
  });

  it("reports each invalid field with its path", () => {
    expect(
      errors(
        grpcRoute({
          hostnames: ["10.0.0.1"],
          rules: [
            {
              matches: [
                { method: {} },
                { method: { service: "hello world", method: "Say/Hello" } },
                { method: { type: "RegularExpression", method: "(?=x)" } },
                {
                  headers: [
                    { name: "x-a", value: "1" },
                    { name: "X-A", value: "2" },
                  ],
                },
              ],
              backendRefs: [{ name: "greeter" }, { name: "greeter", port: 50051, weight: -1 }],
            },
          ],
        }),
      ),
    ).toEqual([
      "JIBE1017 spec.hostnames[0]",
      "JIBE1012 spec.rules[0].matches[0].method",
      "JIBE1013 spec.rules[0].matches[1].method.service",
      "JIBE1013 spec.rules[0].matches[1].method.method",
      "JIBE1014 spec.rules[0].matches[2].method.method",
      "JIBE1018 spec.rules[0].matches[3].headers[1].name",
      "JIBE1012 spec.rules[0].backendRefs[0].port",
      "JIBE1015 spec.rules[0].backendRefs[1].weight",
    ]);
  });

  it("refuses filters GRPCRoute does not have and filters without their field", () => {
    expect(
      errors(grpcRoute({ rules: [{ filters: [{ type: "URLRewrite", urlRewrite: { hostname: "x" } }] }] })),
    ).toEqual(["JIBE1013 spec.rules[0].filters[0].type", "JIBE1011 spec.rules[0].filters[0].urlRewrite"]);
    expect(errors(grpcRoute({ rules: [{ filters: [{ type: "ResponseHeaderModifier" }] }] }))).toEqual([
      "JIBE1012 spec.rules[0].filters[0].responseHeaderModifier",
    ]);
  });
});

describe("listener allowedRoutes.namespaces.selector and Namespace resources", () => {
  it("accepts from: Selector with matchLabels and matchExpressions", () => {
    const selector = {
      matchLabels: { team: "shop" },
      matchExpressions: [
        { key: "env", operator: "In", values: ["prod"] },
        { key: "legacy", operator: "DoesNotExist" },
      ],
    };
    const r = validateResource(gateway({ namespaces: { from: "Selector", selector } }));
    expect(r.ok).toBe(true);
    expect(r.diagnostics).toEqual([]);
  });

  it("requires a selector for from: Selector and well-formed expressions", () => {
    expect(errors(gateway({ namespaces: { from: "Selector" } }))).toEqual([
      "JIBE1012 spec.listeners[0].allowedRoutes.namespaces.selector",
    ]);
    expect(
      errors(
        gateway({
          namespaces: {
            from: "Selector",
            selector: {
              matchLabels: { "bad key!": "x" },
              matchExpressions: [
                { key: "env", operator: "In" },
                { key: "env", operator: "Exists", values: ["x"] },
                { key: "env", operator: "Near", values: ["x"] },
              ],
            },
          },
        }),
      ),
    ).toEqual(["JIBE1013 spec.listeners[0].allowedRoutes.namespaces.selector.matchExpressions[2].operator"]);
    expect(
      errors(
        gateway({
          namespaces: {
            from: "Selector",
            selector: {
              matchLabels: { "bad key!": "x" },
              matchExpressions: [
                { key: "env", operator: "In" },
                { key: "env", operator: "Exists", values: ["x"] },
              ],
            },
          },
        }),
      ),
    ).toEqual([
      'JIBE1013 spec.listeners[0].allowedRoutes.namespaces.selector.matchLabels["bad key!"]',
      "JIBE1012 spec.listeners[0].allowedRoutes.namespaces.selector.matchExpressions[0].values",
      "JIBE1022 spec.listeners[0].allowedRoutes.namespaces.selector.matchExpressions[1].values",
    ]);
  });

  it("stores a Namespace manifest (no spec needed) with its labels", () => {
    const r = validateResource({
      apiVersion: "v1",
      kind: "Namespace",
      metadata: { name: "team-a", labels: { team: "shop" } },
    });
    expect(r.ok && r.resource).toMatchObject({
      kind: "Namespace",
      metadata: { name: "team-a", labels: { team: "shop" } },
      spec: {},
    });
    expect(resolveKind("ns")).toBe("Namespace");
  });
});
