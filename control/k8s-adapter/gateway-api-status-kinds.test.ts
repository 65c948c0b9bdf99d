import { describe, expect, it } from "vitest";
import { validateDocuments } from "../model/validate.ts";
import { computeGatewayApiStatus } from "./gateway-api-status.ts";
import type { KubeObjectLike } from "./mesh-documents.ts";

// Route kinds in Gateway API status, computed (pure) from what the mesh would hold: listener
// supportedKinds per protocol, InvalidRouteKinds, and the HTTPRoute / GRPCRoute hostname conflict.

const GW = "gateway.networking.k8s.io/v1";

const gateway: KubeObjectLike = {
  apiVersion: GW,
  kind: "Gateway",
  metadata: { name: "edge", namespace: "infra", generation: 3 },
  spec: {
    gatewayClassName: "jibe",
    listeners: [
      { name: "http", port: 80, protocol: "HTTP" },
      {
        name: "grpc-only",
        port: 81,
        protocol: "HTTP",
        allowedRoutes: { kinds: [{ kind: "GRPCRoute" }, { kind: "TCPRoute" }] },
      },
      { name: "tcp", port: 5432, protocol: "TCP" },
      { name: "passthrough", port: 443, protocol: "TLS", tls: { mode: "Passthrough" } },
      { name: "terminate", port: 8443, protocol: "TLS", tls: { mode: "Terminate" } },
    ],
  },
};

const route = (kind: string, name: string, created: string, hostnames: string[]): KubeObjectLike => ({
  apiVersion: GW,
  kind,
  metadata: {
    name,
    namespace: "infra",
    generation: 1,
    creationTimestamp: created,
  } as KubeObjectLike["metadata"],
  spec: {
    parentRefs: [{ name: "edge", sectionName: "http" }],
    hostnames,
    rules: [{ backendRefs: [{ name: "web", port: 80 }] }],
  },
});

const service = {
  apiVersion: "v1",
  kind: "Service",
  metadata: { name: "web", namespace: "infra" },
  spec: { selector: { app: "web" }, ports: [{ name: "http", port: 80 }] },
};

function status(routes: KubeObjectLike[]) {
  const { resources, diagnostics } = validateDocuments([gateway, service, ...routes]);
  expect(diagnostics.filter((d) => d.severity === "error")).toEqual([]);
  return computeGatewayApiStatus({
    gatewayClasses: [],
    gateways: [gateway],
    routes: routes.filter((r) => r.kind === "HTTPRoute"),
    grpcRoutes: routes.filter((r) => r.kind === "GRPCRoute"),
    resources,
  });
}

const accepted = (
  parents: { conditions: { type: string; status: string; reason: string }[] }[] | undefined,
) => parents?.[0]?.conditions.find((c) => c.type === "Accepted");

describe("Gateway API status: route kinds", () => {
  it("lists the kinds each listener takes, by protocol and allowedRoutes.kinds", () => {
    const listeners = status([]).gateways.get("infra/edge")?.listeners ?? [];
    const summary = listeners.map(
      (l) =>
        `${l.name}: ${l.supportedKinds.map((k) => k.kind).join(",") || "-"} ${l.conditions.map((c) => `${c.type}=${c.status}/${c.reason}`).join(" ")}`,
    );
    expect(summary).toEqual([
      "http: HTTPRoute,GRPCRoute Accepted=True/Accepted Programmed=True/Programmed ResolvedRefs=True/ResolvedRefs",
      "grpc-only: GRPCRoute Accepted=True/Accepted Programmed=True/Programmed ResolvedRefs=False/InvalidRouteKinds",
      "tcp: TCPRoute Accepted=True/Accepted Programmed=True/Programmed ResolvedRefs=True/ResolvedRefs",
      "passthrough: TLSRoute Accepted=True/Accepted Programmed=True/Programmed ResolvedRefs=True/ResolvedRefs",
      "terminate: - Accepted=False/UnsupportedProtocol Programmed=False/Invalid",
    ]);
  });

  it("accepts the older of an HTTPRoute and a GRPCRoute sharing a hostname; the other is Conflicted", () => {
    const wanted = status([
      route("HTTPRoute", "web", "2026-01-01T00:00:00Z", ["shop.example.com"]),
      route("GRPCRoute", "api", "2026-02-01T00:00:00Z", ["*.example.com"]),
      route("GRPCRoute", "other", "2026-02-01T00:00:00Z", ["grpc.example.org"]),
    ]);
    expect(accepted(wanted.routes.get("infra/web"))).toMatchObject({ status: "True", reason: "Accepted" });
    expect(accepted(wanted.grpcRoutes.get("infra/api"))).toMatchObject({
      status: "False",
      reason: "Conflicted",
    });
    expect(accepted(wanted.grpcRoutes.get("infra/other"))).toMatchObject({
      status: "True",
      reason: "Accepted",
    });
    expect(wanted.gateways.get("infra/edge")?.listeners[0]?.attachedRoutes).toBe(2);
  });
});
