import { describe, expect, it } from "vitest";
import { internalKind, resolveKind } from "./kinds.ts";
import { validateResource } from "./validate.ts";

const route = (spec: object, apiVersion = "gateway.networking.k8s.io/v1") => ({
  apiVersion,
  kind: "HTTPRoute",
  metadata: { name: "r", namespace: "apps" },
  spec: { parentRefs: [{ name: "gw" }], ...spec },
});

/** The error paths and codes a document gets. */
function errors(doc: object): string[] {
  return validateResource(doc)
    .diagnostics.filter((d) => d.severity === "error")
    .map((d) => `${d.code} ${d.path}`);
}

describe("Gateway API kinds", () => {
  it("stores a gateway.networking.k8s.io Gateway as KubernetesGateway, an Istio Gateway as Gateway", () => {
    expect(internalKind("gateway.networking.k8s.io/v1beta1", "Gateway")).toBe("KubernetesGateway");
    expect(internalKind("networking.istio.io/v1", "Gateway")).toBe("Gateway");
    const r = validateResource({
      apiVersion: "gateway.networking.k8s.io/v1",
      kind: "Gateway",
      metadata: { name: "edge" },
      spec: { gatewayClassName: "jibe", listeners: [{ name: "http", port: 80, protocol: "HTTP" }] },
    });
    expect(r.ok && r.resource.kind).toBe("KubernetesGateway");
  });

  it("resolves what users type: gtw, kubernetesgateway, gateways.gateway.networking.k8s.io, httproutes", () => {
    expect(resolveKind("gtw")).toBe("KubernetesGateway");
    expect(resolveKind("gateways.gateway.networking.k8s.io")).toBe("KubernetesGateway");
    expect(resolveKind("httproutes")).toBe("HTTPRoute");
    expect(resolveKind("referencegrant")).toBe("ReferenceGrant");
  });

  it("accepts a full HTTPRoute (v1, v1beta1) and a GatewayClass with a note that it is ignored", () => {
    const spec = {
      hostnames: ["*.example.com"],
      rules: [
        {
          matches: [
            {
              path: { type: "PathPrefix", value: "/api" },
              headers: [{ name: "x-v", type: "RegularExpression", value: "v[0-9]" }],
              method: "GET",
            },
          ],
          filters: [
            {
              type: "URLRewrite",
              urlRewrite: { path: { type: "ReplacePrefixMatch", replacePrefixMatch: "/" } },
            },
          ],
          backendRefs: [{ name: "api", port: 80, weight: 3 }],
          timeouts: { request: "10s", backendRequest: "2s" },
          retry: { attempts: 2, codes: [503], backoff: "100ms" },
        },
      ],
    };
    for (const v of ["gateway.networking.k8s.io/v1", "gateway.networking.k8s.io/v1beta1"])
      expect(errors(route(spec, v))).toEqual([]);
    const cls = validateResource({
      apiVersion: "gateway.networking.k8s.io/v1",
      kind: "GatewayClass",
      metadata: { name: "jibe" },
      spec: { controllerName: "jibe.dev/gateway" },
    });
    expect(cls.ok).toBe(true);
    expect(cls.diagnostics.map((d) => d.severity)).toEqual(["warning"]);
  });

  it("reports each invalid field with its path", () => {
    const bad = route({
      hostnames: ["10.0.0.1"],
      rules: [
        {
          matches: [
            { path: { type: "Exact", value: "no-slash" } },
            { path: { type: "RegularExpression", value: "(?<=x)" } },
          ],
          filters: [
            {
              type: "RequestRedirect",
              requestRedirect: {
                statusCode: 305,
                path: { type: "ReplacePrefixMatch", replacePrefixMatch: "/x" },
              },
            },
            {
              type: "RequestHeaderModifier",
              requestHeaderModifier: {
                set: [
                  { name: "A", value: "1" },
                  { name: "a", value: "2" },
                ],
              },
            },
          ],
          backendRefs: [{ name: "api" }],
        },
      ],
    });
    expect(errors(bad)).toEqual(
      expect.arrayContaining([
        "JIBE1017 spec.hostnames[0]",
        "JIBE1013 spec.rules[0].matches[0].path.value",
        "JIBE1014 spec.rules[0].matches[1].path.value",
        "JIBE1013 spec.rules[0].filters[0].requestRedirect.statusCode",
        "JIBE1018 spec.rules[0].filters[1].requestHeaderModifier.set[1].name",
        "JIBE1022 spec.rules[0].backendRefs",
        "JIBE1022 spec.rules[0].matches[0].path.type",
        "JIBE1012 spec.rules[0].backendRefs[0].port",
      ]),
    );
  });

  it("rejects unknown fields, a filter without its field, and a wrong apiVersion", () => {
    expect(errors(route({ rules: [{ backendRef: [] }] }))).toEqual(["JIBE1011 spec.rules[0].backendRef"]);
    expect(errors(route({ rules: [{ filters: [{ type: "CORS" }] }] }))).toEqual([
      "JIBE1012 spec.rules[0].filters[0].cors",
    ]);
    expect(errors(route({}, "gateway.networking.k8s.io/v2"))).toEqual(["JIBE1005 apiVersion"]);
  });
});
