import type { NatsConnection } from "@nats-io/nats-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { connectNats } from "../../broker/nats-connection.ts";
import type { KubeObject } from "../../test/k8s-apiserver/object-store.ts";
import { typeForKind } from "../../test/k8s-apiserver/resource-types.ts";
import { useTestNats } from "../../test/support/nats.ts";
import { waitFor } from "../../test/support/wait-for.ts";
import { GATEWAY_CONTROLLER } from "./gateway-api-status.ts";
import { mergeRouteStatus } from "./gateway-api-status-merge.ts";
import { startTestCluster, type TestCluster } from "./test-cluster.ts";

const server = useTestNats();
let nc: NatsConnection;
let cluster: TestCluster;

const GW = "gateway.networking.k8s.io/v1";

interface Condition {
  type: string;
  status: string;
  reason: string;
  observedGeneration?: number;
  lastTransitionTime: string;
}
interface ParentStatus {
  parentRef: { name: string; kind?: string };
  controllerName: string;
  conditions: Condition[];
}

function stored(kind: string, namespace: string, name: string): KubeObject | undefined {
  const type = typeForKind(GW, kind);
  return type ? cluster.api.store.get(type, namespace, name) : undefined;
}

function routeStatus(name: string): { parents: ParentStatus[] } {
  return (stored("HTTPRoute", "default", name)?.status ?? { parents: [] }) as { parents: ParentStatus[] };
}

/** `type=status/reason` of each Jibe parent of a route, as its status says now. */
function parents(name: string, namespace = "default"): string[] | undefined {
  const status = stored("HTTPRoute", namespace, name)?.status as { parents?: ParentStatus[] } | undefined;
  return status?.parents
    ?.filter((p) => p.controllerName === GATEWAY_CONTROLLER)
    .map(
      (p) => `${p.parentRef.name}: ${p.conditions.map((c) => `${c.type}=${c.status}/${c.reason}`).join(" ")}`,
    );
}

function route(name: string, parentRefs: object[], backend: string, namespace = "default"): KubeObject {
  return {
    apiVersion: GW,
    kind: "HTTPRoute",
    metadata: { name, namespace },
    spec: {
      parentRefs,
      rules: [
        {
          matches: [{ path: { type: "PathPrefix", value: `/${name}` } }],
          backendRefs: [{ name: backend, port: 9080 }],
        },
      ],
    },
  };
}

const statusWrites = () => cluster.api.requests.writes.filter((w) => w.endsWith("/status")).length;

beforeAll(async () => {
  nc = await connectNats(server().url);
  cluster = await startTestCluster(nc);
  const { api } = cluster;
  api.apply({
    apiVersion: GW,
    kind: "GatewayClass",
    metadata: { name: "nginx" },
    spec: { controllerName: "example.com/nginx" },
  });
  api.apply({
    apiVersion: GW,
    kind: "GatewayClass",
    metadata: { name: "edge" },
    spec: { controllerName: GATEWAY_CONTROLLER },
  });
  const gateway = (name: string, className: string) => ({
    apiVersion: GW,
    kind: "Gateway",
    metadata: { name, namespace: "default" },
    spec: {
      gatewayClassName: className,
      listeners: [
        { name: "http", port: 80, protocol: "HTTP", hostname: "bookinfo.example.com" },
        { name: "udp", port: 9000, protocol: "UDP" },
      ],
    },
  });
  api.apply(gateway("web", "jibe"));
  api.apply(gateway("edge", "edge"));
  api.apply(gateway("other", "nginx"));
  api.apply(route("ok", [{ name: "web", sectionName: "http" }], "productpage"));
  api.apply(route("lost", [{ name: "web" }], "nowhere"));
  api.apply(route("foreign", [{ name: "other" }], "productpage"));
  api.apply(route("elsewhere", [{ name: "web", namespace: "default" }], "productpage", "apps"));
  api.apply({
    ...route("wrong-host", [{ name: "edge" }], "productpage"),
    spec: {
      ...(route("wrong-host", [{ name: "edge" }], "productpage").spec as object),
      hostnames: ["shop.example.com"],
    },
  });
  api.apply(
    route(
      "mesh",
      [
        { group: "", kind: "Service", name: "reviews" },
        { group: "", kind: "Service", name: "gone" },
      ],
      "reviews",
    ),
  );
});

afterAll(async () => {
  await cluster?.stop();
  await nc?.close();
});

describe("Gateway API status written by the adapter", () => {
  it("says per Jibe parent whether an HTTPRoute attaches and whether its backends resolve", async () => {
    await waitFor(() => parents("mesh")?.length === 2 && parents("elsewhere", "apps"), {
      what: "route status",
    });
    await cluster.adapter.idle();
    expect(parents("ok")).toEqual(["web: Accepted=True/Accepted ResolvedRefs=True/ResolvedRefs"]);
    expect(parents("lost")).toEqual(["web: Accepted=True/Accepted ResolvedRefs=False/BackendNotFound"]);
    expect(parents("elsewhere", "apps")).toEqual([
      "web: Accepted=False/NotAllowedByListeners ResolvedRefs=False/BackendNotFound",
    ]);
    expect(parents("wrong-host")).toEqual([
      "edge: Accepted=False/NoMatchingListenerHostname ResolvedRefs=True/ResolvedRefs",
    ]);
    expect(parents("mesh")).toEqual([
      "reviews: Accepted=True/Accepted ResolvedRefs=True/ResolvedRefs",
      "gone: Accepted=False/NoMatchingParent ResolvedRefs=True/ResolvedRefs",
    ]);
    const ok = routeStatus("ok");
    expect(ok.parents[0]?.parentRef).toEqual({ name: "web", sectionName: "http" });
    expect(ok.parents[0]?.conditions[0]?.observedGeneration).toBe(1);
  });

  it("leaves routes and Gateways of other controllers alone", async () => {
    await cluster.adapter.idle();
    expect(stored("HTTPRoute", "default", "foreign")?.status).toBeUndefined();
    expect(stored("Gateway", "default", "other")?.status).toBeUndefined();
  });

  it("marks Jibe Gateways Accepted and Programmed and counts attached routes per listener", async () => {
    await cluster.adapter.idle();
    const status = stored("Gateway", "default", "web")?.status as {
      conditions: Condition[];
      listeners: { name: string; attachedRoutes: number; conditions: Condition[] }[];
    };
    expect(status.conditions.map((c) => `${c.type}=${c.status}`)).toEqual([
      "Accepted=True",
      "Programmed=True",
    ]);
    // ok and lost attach to "http"; elsewhere is not allowed; nothing attaches to the UDP listener.
    expect(status.listeners.map((l) => `${l.name}:${l.attachedRoutes}`)).toEqual(["http:2", "udp:0"]);
    expect(status.listeners[1]?.conditions[0]).toMatchObject({
      status: "False",
      reason: "UnsupportedProtocol",
    });
    const edge = stored("Gateway", "default", "edge")?.status as { listeners: { attachedRoutes: number }[] };
    expect(edge.listeners[0]?.attachedRoutes).toBe(0);
  });

  it("follows changes (a backend appears) and writes nothing when nothing changed", async () => {
    await cluster.adapter.idle();
    const before = statusWrites();
    const lastTransitionTime = routeStatus("ok").parents[0]?.conditions[0]?.lastTransitionTime;
    expect(lastTransitionTime).toMatch(/Z$/);
    await cluster.restartAdapter();
    cluster.api.dropWatches();
    cluster.api.bookmark();
    await new Promise((resolve) => setTimeout(resolve, 300));
    await cluster.adapter.idle();
    expect(statusWrites()).toBe(before);

    cluster.api.apply({
      apiVersion: "v1",
      kind: "Service",
      metadata: { name: "nowhere", namespace: "default" },
      spec: { selector: { app: "productpage" }, ports: [{ name: "http", port: 9080 }] },
    });
    await waitFor(() => parents("lost")?.[0]?.includes("ResolvedRefs=True"), { what: "backend resolves" });
    await cluster.adapter.idle();
    expect(statusWrites()).toBe(before + 1); // only the route whose status changed
    expect(routeStatus("ok").parents[0]?.conditions[0]?.lastTransitionTime).toBe(lastTransitionTime);
  });
});

describe("mergeRouteStatus", () => {
  const ours = {
    parentRef: { name: "web" },
    controllerName: GATEWAY_CONTROLLER,
    conditions: [{ type: "Accepted", status: "True" as const, reason: "Accepted", message: "attached" }],
  };
  const theirs = { parentRef: { name: "lb" }, controllerName: "example.com/lb", conditions: [] };

  it("keeps other controllers' parents and is undefined when nothing changes", () => {
    const now = new Date("2026-01-01T00:00:00Z");
    const first = mergeRouteStatus({ parents: [theirs] }, [ours], now);
    expect(first?.parents ?? []).toHaveLength(2);
    expect(mergeRouteStatus(first, [ours], new Date())).toBeUndefined();
    expect(mergeRouteStatus(first, [], now)).toEqual({ parents: [theirs] });
  });
});
