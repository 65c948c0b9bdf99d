import type { NatsConnection } from "@nats-io/nats-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { connectNats } from "../../broker/nats-connection.ts";
import type { KubeObject } from "../../test/k8s-apiserver/object-store.ts";
import { typeForKind } from "../../test/k8s-apiserver/resource-types.ts";
import { useTestNats } from "../../test/support/nats.ts";
import { waitFor } from "../../test/support/wait-for.ts";
import { GATEWAY_CONTROLLER } from "./gateway-api-status.ts";
import { startTestCluster, type TestCluster } from "./test-cluster.ts";

// Listener `allowedRoutes.namespaces.from: Selector` over the cluster's Namespace labels, and
// GRPCRoute status, through the real adapter against the API-server double.

const server = useTestNats();
let nc: NatsConnection;
let cluster: TestCluster;

const GW = "gateway.networking.k8s.io/v1";

interface Condition {
  type: string;
  status: string;
  reason: string;
}
interface ParentStatus {
  parentRef: { name: string };
  controllerName: string;
  conditions: Condition[];
}

function stored(kind: string, namespace: string, name: string): KubeObject | undefined {
  const type = typeForKind(kind === "TCPRoute" ? "gateway.networking.k8s.io/v1alpha2" : GW, kind);
  return type ? cluster.api.store.get(type, namespace, name) : undefined;
}

/** `type=status/reason` of each Jibe parent of a route, as its status says now. */
function parents(kind: string, namespace: string, name: string): string | undefined {
  const status = stored(kind, namespace, name)?.status as { parents?: ParentStatus[] } | undefined;
  return status?.parents
    ?.filter((p) => p.controllerName === GATEWAY_CONTROLLER)
    .map((p) => p.conditions.map((c) => `${c.type}=${c.status}/${c.reason}`).join(" "))
    .join("; ");
}

const namespace = (name: string, labels: Record<string, string>): KubeObject => ({
  apiVersion: "v1",
  kind: "Namespace",
  metadata: { name, labels },
});

const webService = (ns: string): KubeObject => ({
  apiVersion: "v1",
  kind: "Service",
  metadata: { name: "web", namespace: ns },
  spec: { selector: { app: "web" }, ports: [{ name: "grpc", port: 50051 }] },
});

const route = (kind: "HTTPRoute" | "GRPCRoute" | "TCPRoute", ns: string): KubeObject => ({
  apiVersion: kind === "TCPRoute" ? "gateway.networking.k8s.io/v1alpha2" : GW,
  kind,
  metadata: { name: `${kind.toLowerCase()}-${ns}`, namespace: ns },
  spec: {
    parentRefs: [{ name: "shared", namespace: "default" }],
    // An HTTPRoute and a GRPCRoute may not share a hostname on one listener.
    ...(kind === "TCPRoute" ? {} : { hostnames: [`${kind.toLowerCase()}.${ns}.example.com`] }),
    rules: [{ backendRefs: [{ name: "web", port: 50051 }] }],
  },
});

function listener(index = 0): { attachedRoutes: number; supportedKinds: { kind: string }[] } | undefined {
  const status = stored("Gateway", "default", "shared")?.status as
    | { listeners?: { attachedRoutes: number; supportedKinds: { kind: string }[] }[] }
    | undefined;
  return status?.listeners?.[index];
}

beforeAll(async () => {
  nc = await connectNats(server().url);
  cluster = await startTestCluster(nc);
  const { api } = cluster;
  api.apply(namespace("team-a", { shared: "yes" }));
  api.apply(namespace("team-b", { shared: "no" }));
  for (const ns of ["team-a", "team-b"]) api.apply(webService(ns));
  api.apply({
    apiVersion: GW,
    kind: "Gateway",
    metadata: { name: "shared", namespace: "default" },
    spec: {
      gatewayClassName: "jibe",
      listeners: [
        {
          name: "http",
          port: 80,
          protocol: "HTTP",
          allowedRoutes: { namespaces: { from: "Selector", selector: { matchLabels: { shared: "yes" } } } },
        },
        { name: "db", port: 5432, protocol: "TCP", allowedRoutes: { namespaces: { from: "All" } } },
      ],
    },
  });
  api.apply(route("HTTPRoute", "team-a"));
  api.apply(route("HTTPRoute", "team-b"));
  api.apply(route("GRPCRoute", "team-a"));
  api.apply(route("TCPRoute", "team-b"));
});

afterAll(async () => {
  await cluster?.stop();
  await nc?.close();
});

describe("allowedRoutes from: Selector and GRPCRoute status, written by the adapter", () => {
  it("publishes Namespaces with their labels", async () => {
    const teamA = async () =>
      (await cluster.plane.list()).find((v) => v.ref.kind === "Namespace" && v.ref.name === "team-a");
    await waitFor(teamA, { what: "namespace team-a in the mesh" });
    expect((await teamA())?.resource.metadata.labels).toEqual({ shared: "yes" });
  });

  it("accepts routes from namespaces the selector matches, refuses the others", async () => {
    await waitFor(
      () =>
        parents("HTTPRoute", "team-b", "httproute-team-b") &&
        parents("GRPCRoute", "team-a", "grpcroute-team-a"),
      {
        what: "route status",
      },
    );
    await cluster.adapter.idle();
    expect(parents("HTTPRoute", "team-a", "httproute-team-a")).toBe(
      "Accepted=True/Accepted ResolvedRefs=True/ResolvedRefs",
    );
    expect(parents("HTTPRoute", "team-b", "httproute-team-b")).toBe(
      "Accepted=False/NotAllowedByListeners ResolvedRefs=True/ResolvedRefs",
    );
    expect(parents("GRPCRoute", "team-a", "grpcroute-team-a")).toBe(
      "Accepted=True/Accepted ResolvedRefs=True/ResolvedRefs",
    );
    expect(listener()?.attachedRoutes).toBe(2);
    expect(listener()?.supportedKinds.map((k) => k.kind)).toEqual(["HTTPRoute", "GRPCRoute"]);
  });

  it("attaches a TCPRoute (experimental channel) to the TCP listener, whatever the HTTP listener's selector", async () => {
    await waitFor(() => parents("TCPRoute", "team-b", "tcproute-team-b"), { what: "TCPRoute status" });
    await cluster.adapter.idle();
    expect(parents("TCPRoute", "team-b", "tcproute-team-b")).toBe(
      "Accepted=True/Accepted ResolvedRefs=True/ResolvedRefs",
    );
    expect(listener(1)).toMatchObject({ attachedRoutes: 1, supportedKinds: [{ kind: "TCPRoute" }] });
  });

  it("follows Namespace labels: relabelling a namespace attaches its routes", async () => {
    await cluster.adapter.idle();
    cluster.api.apply(namespace("team-b", { shared: "yes" }));
    await waitFor(() => parents("HTTPRoute", "team-b", "httproute-team-b")?.startsWith("Accepted=True"), {
      what: "team-b route accepted",
    });
    await cluster.adapter.idle();
    expect(listener()?.attachedRoutes).toBe(3);
  });
});
