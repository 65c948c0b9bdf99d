import { describe, expect, it } from "vitest";
import type { StoredResource } from "../../broker/events.ts";
import { validateDocuments } from "../model/validate.ts";
import { compile } from "./compile.ts";
import { intersectHostnames } from "./gateway-api-units.ts";
import { createIncrementalCompiler } from "./incremental.ts";
import type { ProxyIdentity, Snapshot } from "./snapshot.ts";
import { bookinfoMesh, gateway, resourceMap, service, sidecar, virtualService } from "./test-resources.ts";

const REVIEWS = "reviews.default.svc.cluster.local";

function stored(doc: object): StoredResource {
  const { resources, diagnostics } = validateDocuments([doc]);
  const [resource] = resources;
  if (!resource) throw new Error(JSON.stringify(diagnostics));
  return resource;
}

const reviewsRoute = (backend: string) =>
  stored({
    apiVersion: "gateway.networking.k8s.io/v1",
    kind: "HTTPRoute",
    metadata: { name: "reviews", namespace: "default" },
    spec: {
      parentRefs: [{ group: "", kind: "Service", name: "reviews" }],
      rules: [{ backendRefs: [{ name: backend, port: 9080 }] }],
    },
  });
const edgeGateway = stored({
  apiVersion: "gateway.networking.k8s.io/v1",
  kind: "Gateway",
  metadata: { name: "edge", namespace: "default" },
  spec: {
    gatewayClassName: "jibe",
    listeners: [{ name: "http", port: 80, protocol: "HTTP", hostname: "*.example.com" }],
  },
});
const edgeRoute = (name: string, host: string, backend: string) =>
  stored({
    apiVersion: "gateway.networking.k8s.io/v1",
    kind: "HTTPRoute",
    metadata: { name, namespace: "default" },
    spec: {
      parentRefs: [{ name: "edge" }],
      hostnames: [host],
      rules: [{ backendRefs: [{ name: backend, port: 9080 }] }],
    },
  });

/** Runs a series of changes through one incremental compiler; each step must equal a full compile. */
function replay(
  proxy: ProxyIdentity,
  base: StoredResource[],
  steps: { put?: StoredResource[]; del?: StoredResource[] }[],
): Snapshot[] {
  const compiler = createIncrementalCompiler(proxy);
  const resources = resourceMap(base);
  const key = (r: StoredResource) => `${r.kind}/${r.metadata.namespace}/${r.metadata.name}`;
  const out: Snapshot[] = [];
  compiler.update({ resources: new Map(resources), changed: new Set(resources.keys()), revision: 0 });
  steps.forEach((step, i) => {
    const changed = new Set<string>();
    for (const r of step.put ?? []) {
      resources.set(key(r), r);
      changed.add(key(r));
    }
    for (const r of step.del ?? []) {
      resources.delete(key(r));
      changed.add(key(r));
    }
    const { snapshot } = compiler.update({ resources: new Map(resources), changed, revision: i + 1 });
    expect(snapshot.version).toBe(compile(resources.values(), proxy, i + 1).snapshot.version);
    out.push(snapshot);
  });
  return out;
}

const reviewsTargets = (s: Snapshot) => {
  const routes = s.virtualHosts.find((v) => v.name === REVIEWS)?.routes ?? [];
  return routes.flatMap((r) =>
    r.action.kind === "route" ? r.action.destinations.map((d) => d.cluster) : [],
  );
};

describe("Gateway API units in the incremental compiler", () => {
  it("a mesh route takes over a Service's virtual host for sidecars, and gives it back when deleted", () => {
    const base = [...bookinfoMesh(), service("reviews-v2", { selector: { app: "reviews", version: "v2" } })];
    const [attached, changed, detached] = replay(sidecar(), base, [
      { put: [reviewsRoute("reviews-v2")] },
      { put: [reviewsRoute("reviews")] },
      { del: [reviewsRoute("reviews")] },
    ]);
    expect(attached && reviewsTargets(attached)).toEqual([
      "outbound|9080||reviews-v2.default.svc.cluster.local",
    ]);
    expect(changed && reviewsTargets(changed)).toEqual([`outbound|9080||${REVIEWS}`]);
    expect(detached?.virtualHosts.find((v) => v.name === REVIEWS)?.routes[0]?.origin).toBe(
      "Service/default/reviews#default",
    );
  });

  it("a gateway serves the hostnames its routes attach with, and stops when the Gateway goes", () => {
    const steps = replay(gateway(["default/edge"]), bookinfoMesh(), [
      { put: [edgeGateway, edgeRoute("shop", "shop.example.com", "productpage")] },
      { put: [edgeRoute("api", "api.example.com", "details")] },
      { del: [edgeGateway] },
    ]);
    const domains = (s: Snapshot | undefined) => (s?.virtualHosts ?? []).flatMap((v) => v.domains).sort();
    expect(domains(steps[0])).toEqual(["shop.example.com"]);
    expect(domains(steps[1])).toEqual(["api.example.com", "shop.example.com"]);
    expect(domains(steps[2])).toEqual([]);
  });
});

describe("Gateway API selectors, GRPCRoutes and TCPRoutes in the incremental compiler", () => {
  const selectorGateway = stored({
    apiVersion: "gateway.networking.k8s.io/v1",
    kind: "Gateway",
    metadata: { name: "edge", namespace: "default" },
    spec: {
      gatewayClassName: "jibe",
      listeners: [
        {
          name: "http",
          port: 80,
          protocol: "HTTP",
          allowedRoutes: { namespaces: { from: "Selector", selector: { matchLabels: { edge: "yes" } } } },
        },
        { name: "db", port: 5432, protocol: "TCP", allowedRoutes: { namespaces: { from: "All" } } },
      ],
    },
  });
  const namespace = (labels: Record<string, string>) =>
    stored({ apiVersion: "v1", kind: "Namespace", metadata: { name: "default", labels } });
  const grpcRoute = (method: string) =>
    stored({
      apiVersion: "gateway.networking.k8s.io/v1",
      kind: "GRPCRoute",
      metadata: { name: "greeter", namespace: "default" },
      spec: {
        parentRefs: [{ name: "edge", sectionName: "http" }],
        rules: [
          {
            matches: [{ method: { service: "hello.Greeter", method } }],
            backendRefs: [{ name: "details", port: 9080 }],
          },
        ],
      },
    });
  const tcpRoute = (backend: string) =>
    stored({
      apiVersion: "gateway.networking.k8s.io/v1alpha2",
      kind: "TCPRoute",
      metadata: { name: "db", namespace: "default" },
      spec: {
        parentRefs: [{ name: "edge", sectionName: "db" }],
        rules: [{ backendRefs: [{ name: backend, port: 9080 }] }],
      },
    });
  const paths = (s: Snapshot | undefined) =>
    (s?.virtualHosts ?? []).flatMap((v) =>
      v.routes.flatMap((r) => r.match.map((m) => (m.uri && "exact" in m.uri ? m.uri.exact : ""))),
    );

  it("follows Namespace labels, GRPCRoute edits and TCPRoute backends, each step as a full compile", () => {
    const steps = replay(
      gateway(["default/edge"]),
      [...bookinfoMesh(), selectorGateway],
      [
        { put: [grpcRoute("SayHello"), tcpRoute("ratings")] },
        { put: [namespace({ edge: "yes" })] },
        { put: [grpcRoute("SayGoodbye")] },
        { put: [namespace({ edge: "no" }), tcpRoute("reviews")] },
      ],
    );
    expect(paths(steps[0])).toEqual([]);
    expect(paths(steps[1])).toEqual(["/hello.Greeter/SayHello"]);
    expect(paths(steps[2])).toEqual(["/hello.Greeter/SayGoodbye"]);
    expect(paths(steps[3])).toEqual([]);
    const tcp = (s: Snapshot | undefined) => s?.gatewayServers?.[0]?.tcpRoute?.destinations[0]?.cluster;
    expect(tcp(steps[0])).toBe("outbound|9080||ratings.default.svc.cluster.local");
    expect(tcp(steps[3])).toBe(`outbound|9080||${REVIEWS}`);
  });
});

describe("Gateway API route status", () => {
  it("reports a mesh route whose parent Service does not exist (Accepted: False)", () => {
    const orphan = stored({
      apiVersion: "gateway.networking.k8s.io/v1",
      kind: "HTTPRoute",
      metadata: { name: "orphan", namespace: "default" },
      spec: {
        parentRefs: [{ group: "", kind: "Service", name: "nope" }],
        rules: [{ backendRefs: [{ name: "reviews", port: 9080 }] }],
      },
    });
    const { diagnostics } = compile([...bookinfoMesh(), orphan], sidecar());
    expect(diagnostics).toContainEqual(
      expect.objectContaining({
        code: "JIBE2060",
        resource: "HTTPRoute/default/orphan",
        severity: "warning",
      }),
    );
  });
});

describe("mesh routes and VirtualServices", () => {
  it("the HTTPRoute routes a Service for sidecars; a VirtualService for it is reported as ignored", () => {
    const vs = virtualService("reviews", {
      hosts: ["reviews"],
      http: [{ route: [{ destination: { host: "ratings" } }] }],
    });
    const { snapshot, diagnostics } = compile(
      [
        ...bookinfoMesh(),
        service("reviews-v2", { selector: { app: "reviews", version: "v2" } }),
        vs,
        reviewsRoute("reviews-v2"),
      ],
      sidecar(),
    );
    expect(reviewsTargets(snapshot)).toEqual(["outbound|9080||reviews-v2.default.svc.cluster.local"]);
    expect(diagnostics).toContainEqual(
      expect.objectContaining({ code: "JIBE2063", resource: "VirtualService/default/reviews" }),
    );
  });
});

describe("intersectHostnames", () => {
  it("follows the Gateway API rules", () => {
    expect(intersectHostnames(undefined, undefined)).toEqual(["*"]);
    expect(intersectHostnames([], "*.example.com")).toEqual(["*.example.com"]);
    expect(intersectHostnames(["a.example.com", "b.org"], "*.example.com")).toEqual(["a.example.com"]);
    expect(intersectHostnames(["*.example.com"], "a.example.com")).toEqual(["a.example.com"]);
    expect(intersectHostnames(["*.a.example.com"], "*.example.com")).toEqual(["*.a.example.com"]);
    expect(intersectHostnames(["b.org"], "a.example.com")).toEqual([]);
  });
});
