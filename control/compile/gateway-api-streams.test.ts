import { describe, expect, it } from "vitest";
import { validateDocuments } from "../model/validate.ts";
import { compile } from "./compile.ts";
import type { Diagnostic, GatewayServerConfig, ProxyIdentity } from "./snapshot.ts";

/** TCPRoute and TLSRoute attached to a Gateway API Gateway's TCP and TLS passthrough listeners. */

const GW = "gateway.networking.k8s.io/v1";
const ALPHA = "gateway.networking.k8s.io/v1alpha2";

const proxy: ProxyIdentity = {
  id: "gateway~edge",
  role: "gateway",
  namespace: "infra",
  labels: {},
  gateways: ["infra/edge"],
};

const gateway = {
  apiVersion: GW,
  kind: "Gateway",
  metadata: { name: "edge", namespace: "infra" },
  spec: {
    gatewayClassName: "jibe",
    listeners: [
      { name: "db", port: 5432, protocol: "TCP", allowedRoutes: { namespaces: { from: "All" } } },
      {
        name: "tls",
        port: 8443,
        protocol: "TLS",
        hostname: "*.example.com",
        tls: { mode: "Passthrough" },
        allowedRoutes: { namespaces: { from: "Same" } },
      },
      { name: "http", port: 80, protocol: "HTTP" },
    ],
  },
};

const service = (name: string, port: number, namespace = "infra") => ({
  apiVersion: "v1",
  kind: "Service",
  metadata: { name, namespace },
  spec: { selector: { app: name }, ports: [{ name: "tcp", port }] },
});

const tcpRoute = (name: string, backendRefs: object[], extra: object = {}, created?: string) => ({
  apiVersion: ALPHA,
  kind: "TCPRoute",
  metadata: { name, namespace: "infra", ...(created ? { creationTimestamp: created } : {}) },
  spec: { parentRefs: [{ name: "edge", sectionName: "db" }], rules: [{ backendRefs }], ...extra },
});

const tlsRoute = (name: string, hostnames: string[], backend: string, namespace = "infra") => ({
  apiVersion: ALPHA,
  kind: "TLSRoute",
  metadata: { name, namespace },
  spec: {
    parentRefs: [{ name: "edge", namespace: "infra" }],
    hostnames,
    rules: [{ backendRefs: [{ name: backend, namespace, port: 443 }] }],
  },
});

function compiled(documents: object[]): { servers: GatewayServerConfig[]; diagnostics: Diagnostic[] } {
  const { resources, diagnostics: invalid } = validateDocuments(documents);
  expect(invalid.filter((d) => d.severity === "error")).toEqual([]);
  const { snapshot, diagnostics } = compile(resources, proxy);
  // The gateway's HTTP listener is a server too (gateway-api-listeners.test.ts): only streams here.
  const servers = (snapshot.gatewayServers ?? []).filter((s) => s.protocol !== "HTTP");
  return { servers, diagnostics };
}

const byCode = (diagnostics: Diagnostic[], code: string) =>
  diagnostics.filter((d) => d.code === code).map((d) => `${d.resource} ${d.path}`);

describe("Gateway API TCPRoute", () => {
  it("makes the TCP listener a TCP server forwarding to the route's weighted backends", () => {
    const { servers } = compiled([
      gateway,
      service("pg-primary", 5432),
      service("pg-replica", 5432),
      tcpRoute("pg", [
        { name: "pg-primary", port: 5432, weight: 80 },
        { name: "pg-replica", port: 5432, weight: 20 },
      ]),
    ]);
    expect(servers).toEqual([
      {
        origin: "KubernetesGateway/infra/edge#db",
        port: 5432,
        protocol: "TCP",
        hosts: ["*"],
        tcpRoute: {
          origin: "TCPRoute/infra/pg#0",
          destinations: [
            { cluster: "outbound|5432||pg-primary.infra.svc.cluster.local", weight: 80 },
            { cluster: "outbound|5432||pg-replica.infra.svc.cluster.local", weight: 20 },
          ],
        },
      },
    ]);
  });

  it("uses the oldest of several TCPRoutes on one listener and reports the others and bad backends", () => {
    const { servers, diagnostics } = compiled([
      gateway,
      service("pg-primary", 5432),
      tcpRoute("old", [{ name: "pg-primary", port: 5432 }], {}, "2026-01-01T00:00:00Z"),
      tcpRoute("new", [{ name: "missing", port: 5432 }], {}, "2026-02-01T00:00:00Z"),
    ]);
    expect(servers[0]?.tcpRoute?.origin).toBe("TCPRoute/infra/old#0");
    expect(byCode(diagnostics, "JIBE2064")).toEqual(["TCPRoute/infra/new spec.parentRefs"]);
    expect(byCode(diagnostics, "JIBE2061")).toEqual(["TCPRoute/infra/new spec.rules[0].backendRefs[0]"]);
  });

  it("does not attach a TCPRoute to an HTTP listener, nor an HTTPRoute to a TCP one", () => {
    const { servers, diagnostics } = compiled([
      gateway,
      service("pg-primary", 5432),
      tcpRoute("to-http", [{ name: "pg-primary", port: 5432 }], {
        parentRefs: [{ name: "edge", sectionName: "http" }],
      }),
      {
        apiVersion: GW,
        kind: "HTTPRoute",
        metadata: { name: "web", namespace: "infra" },
        spec: { parentRefs: [{ name: "edge", sectionName: "db" }], rules: [{}] },
      },
    ]);
    expect(servers).toEqual([]);
    expect(
      diagnostics
        .filter((d) => d.code === "JIBE2060")
        .map((d) => `${d.resource} ${/\((\w+)\)/.exec(d.message)?.[1]}`),
    ).toEqual(
      ["HTTPRoute/infra/web NotAllowedByListeners", "TCPRoute/infra/to-http NotAllowedByListeners"].sort(),
    );
  });
});

describe("Gateway API TLSRoute", () => {
  it("makes the TLS Passthrough listener route by SNI, hostnames narrowed to the listener's, most specific first", () => {
    const { servers, diagnostics } = compiled([
      gateway,
      service("shop", 443),
      service("admin", 443),
      tlsRoute("shop", ["shop.example.com", "shop.example.org"], "shop"),
      tlsRoute("admin", ["*.example.com"], "admin"),
    ]);
    expect(byCode(diagnostics, "JIBE2060")).toEqual([]);
    expect(servers).toEqual([
      {
        origin: "KubernetesGateway/infra/edge#tls",
        port: 8443,
        protocol: "TLS",
        hosts: ["*.example.com"],
        tls: { mode: "PASSTHROUGH" },
        sniRoutes: [
          {
            origin: "TLSRoute/infra/shop#0",
            sniHosts: ["shop.example.com"],
            destinations: [{ cluster: "outbound|443||shop.infra.svc.cluster.local", weight: 1 }],
          },
          {
            origin: "TLSRoute/infra/admin#0",
            sniHosts: ["*.example.com"],
            destinations: [{ cluster: "outbound|443||admin.infra.svc.cluster.local", weight: 1 }],
          },
        ],
      },
    ]);
  });

  it("reports a TLSRoute with no hostname in common, or from a namespace the listener does not allow", () => {
    const { diagnostics } = compiled([
      gateway,
      service("shop", 443),
      service("other", 443, "apps"),
      tlsRoute("elsewhere", ["shop.example.org"], "shop"),
      tlsRoute("foreign", ["x.example.com"], "other", "apps"),
    ]);
    expect(
      diagnostics
        .filter((d) => d.code === "JIBE2060")
        .map((d) => `${d.resource} ${/\((\w+)\)/.exec(d.message)?.[1]}`)
        .sort(),
    ).toEqual([
      "TLSRoute/apps/foreign NotAllowedByListeners",
      "TLSRoute/infra/elsewhere NoMatchingListenerHostname",
    ]);
  });

  it("validates TCPRoute and TLSRoute fields with their paths", () => {
    const { diagnostics } = validateDocuments([
      tcpRoute("no-port", [{ name: "pg" }]),
      { ...tlsRoute("bad-host", ["10.0.0.1"], "shop"), apiVersion: "gateway.networking.k8s.io/v1alpha3" },
      { ...tcpRoute("no-rules", []), spec: { parentRefs: [{ name: "edge" }], rules: [] } },
    ]);
    expect(
      diagnostics.filter((d) => d.severity === "error").map((d) => `${d.resource} ${d.code} ${d.path}`),
    ).toEqual([
      "TCPRoute/infra/no-port JIBE1012 spec.rules[0].backendRefs[0].port",
      "TLSRoute/infra/bad-host JIBE1017 spec.hostnames[0]",
      "TCPRoute/infra/no-rules JIBE1013 spec.rules",
    ]);
  });
});
