import { describe, expect, it } from "vitest";
import type { StoredResource } from "../../broker/events.ts";
import { decideRoute, type RequestFacts } from "../../workers/engine/decide-route.ts";
import { buildRouteTable } from "../../workers/engine/route-table.ts";
import { compile } from "./compile.ts";
import { PASSTHROUGH_CLUSTER } from "./sidecar-scope.ts";
import type { ProxyIdentity } from "./snapshot.ts";
import { service, sidecar, virtualService } from "./test-resources.ts";

const sidecarResource = (name: string, namespace: string, spec: unknown, created = ""): StoredResource => ({
  apiVersion: "networking.istio.io/v1",
  kind: "Sidecar",
  metadata: { name, namespace, ...(created ? { creationTimestamp: created } : {}) },
  spec,
});
const get = (authority: string): RequestFacts => ({
  authority,
  path: "/",
  method: "GET",
  scheme: "http",
  headers: {},
});

function decide(resources: StoredResource[], proxy: ProxyIdentity, authority: string) {
  const { snapshot, diagnostics } = compile(resources, proxy);
  return { decision: decideRoute(buildRouteTable(snapshot), get(authority), () => 0), diagnostics, snapshot };
}

/** "service" when a registry host routes, "passthrough" when it is unknown to the proxy (ALLOW_ANY). */
function outcome(resources: StoredResource[], proxy: ProxyIdentity, authority: string): string {
  const { decision } = decide(resources, proxy, authority);
  if (decision.kind !== "forward") return decision.kind;
  return decision.cluster.name === PASSTHROUGH_CLUSTER ? "passthrough" : "service";
}

const MESH = [
  service("reviews"),
  service("ratings"),
  service("db", { namespace: "data" }),
  service("metrics", { namespace: "istio-system" }),
];

describe("compile: Sidecar egress scoping and outbound traffic policy", () => {
  it("egress hosts decide which services a proxy sees (./*, ns/*, */host, ~/*)", () => {
    const scoped = [
      ...MESH,
      sidecarResource("default", "default", { egress: [{ hosts: ["./*", "istio-system/*"] }] }),
    ];
    // A hidden service is an unknown host: passed through under the default ALLOW_ANY.
    const sees = (authority: string, resources = scoped) => outcome(resources, sidecar(), authority);
    expect(sees("reviews")).toBe("service");
    expect(sees("metrics.istio-system")).toBe("service");
    expect(sees("db.data")).toBe("passthrough");
    expect(sees("db.data", MESH)).toBe("service");
    const one = [
      ...MESH,
      sidecarResource("default", "default", { egress: [{ hosts: ["*/db.data.svc.cluster.local"] }] }),
    ];
    expect([sees("db.data", one), sees("reviews", one)]).toEqual(["service", "passthrough"]);
    const none = [...MESH, sidecarResource("default", "default", { egress: [{ hosts: ["~/*"] }] })];
    expect(sees("reviews", none)).toBe("passthrough");
    expect(Object.keys(decide(none, sidecar(), "reviews").snapshot.clusters)).toEqual([PASSTHROUGH_CLUSTER]);
    const closed = [
      ...MESH,
      sidecarResource("default", "default", {
        egress: [{ hosts: ["~/*"] }],
        outboundTrafficPolicy: { mode: "REGISTRY_ONLY" },
      }),
    ];
    expect(decide(closed, sidecar(), "reviews").decision).toMatchObject({ status: 502, flag: "NR" });
    expect(decide(closed, sidecar(), "reviews").snapshot.clusters).toEqual({});
  });

  it("scopes VirtualService hosts by the VirtualService's namespace", () => {
    const resources = [
      ...MESH,
      virtualService(
        "ext",
        { hosts: ["api.example.com"], http: [{ directResponse: { status: 204 } }] },
        { namespace: "data" },
      ),
    ];
    expect(decide(resources, sidecar(), "api.example.com").decision.kind).toBe("direct");
    const scoped = [...resources, sidecarResource("default", "default", { egress: [{ hosts: ["./*"] }] })];
    expect(outcome(scoped, sidecar(), "api.example.com")).toBe("passthrough");
  });

  it("REGISTRY_ONLY answers unknown hosts 502 NR; ALLOW_ANY passes them to their original destination", () => {
    const blocked = decide(
      [...MESH, sidecarResource("default", "default", { outboundTrafficPolicy: { mode: "REGISTRY_ONLY" } })],
      sidecar(),
      "example.org",
    );
    expect(blocked.decision).toMatchObject({ kind: "direct", status: 502, flag: "NR" });
    expect(decide([...MESH], sidecar(), "reviews").decision.kind).toBe("forward");
    const open = decide(
      [...MESH, sidecarResource("default", "default", { outboundTrafficPolicy: { mode: "ALLOW_ANY" } })],
      sidecar(),
      "example.org:8080",
    );
    expect(open.decision).toMatchObject({
      kind: "forward",
      cluster: { name: "PassthroughCluster", originalDestination: true },
    });
    // Registry hosts still route normally under either mode.
    expect(
      decide(
        [
          ...MESH,
          sidecarResource("default", "default", { outboundTrafficPolicy: { mode: "REGISTRY_ONLY" } }),
        ],
        sidecar(),
        "reviews",
      ).decision.kind,
    ).toBe("forward");
  });

  it("precedence: workload selector > namespace default > root namespace; the mesh config is the last default", () => {
    const resources = [
      ...MESH,
      sidecarResource("root", "istio-system", { outboundTrafficPolicy: { mode: "REGISTRY_ONLY" } }),
      sidecarResource("ns", "default", { outboundTrafficPolicy: { mode: "ALLOW_ANY" } }),
      sidecarResource("reviews-only", "default", {
        workloadSelector: { labels: { app: "reviews" } },
        egress: [{ hosts: ["./ratings.default.svc.cluster.local"] }],
        outboundTrafficPolicy: { mode: "REGISTRY_ONLY" },
      }),
    ];
    expect(decide(resources, sidecar("reviews"), "example.org").decision).toMatchObject({ status: 502 });
    expect(decide(resources, sidecar("reviews"), "reviews").decision).toMatchObject({ status: 502 });
    expect(outcome(resources, sidecar("productpage"), "example.org")).toBe("passthrough");
    expect(decide(resources, sidecar("productpage", "other"), "example.org").decision).toMatchObject({
      status: 502,
    });
    const meshConfig: StoredResource = {
      apiVersion: "v1",
      kind: "ConfigMap",
      metadata: { name: "istio", namespace: "istio-system" },
      spec: { mesh: "outboundTrafficPolicy:\n  mode: REGISTRY_ONLY\n" },
    };
    expect(decide([...MESH, meshConfig], sidecar(), "example.org").decision).toMatchObject({
      status: 502,
      flag: "NR",
    });
  });

  it("defaults a sidecar to Istio's ALLOW_ANY: an unknown host goes to its original destination", () => {
    const { decision, snapshot } = decide(MESH, sidecar(), "example.org:8080");
    expect(decision).toMatchObject({
      kind: "forward",
      route: { origin: "MeshConfig/default#outboundTrafficPolicy" },
      cluster: { name: PASSTHROUGH_CLUSTER, originalDestination: true, endpoints: [] },
    });
    expect(snapshot.virtualHosts.map((v) => v.name)).toContain("allow_any");
    expect(outcome(MESH, sidecar(), "reviews")).toBe("service");
    // A mesh config without outboundTrafficPolicy keeps the default.
    const otherMeshConfig: StoredResource = {
      apiVersion: "v1",
      kind: "ConfigMap",
      metadata: { name: "istio", namespace: "istio-system" },
      spec: { mesh: "enableTracing: true\n" },
    };
    expect(outcome([...MESH, otherMeshConfig], sidecar(), "example.org")).toBe("passthrough");
    // Gateways are not sidecars: a host they do not route is 404 NR, as at Istio's gateways.
    const gateway: ProxyIdentity = {
      id: "gateway~ingress~istio-system",
      role: "gateway",
      namespace: "istio-system",
      labels: { istio: "ingressgateway" },
    };
    const atGateway = decide(MESH, gateway, "example.org");
    expect(atGateway.decision.kind).toBe("noRoute");
    expect(atGateway.snapshot.clusters[PASSTHROUGH_CLUSTER]).toBeUndefined();
  });

  it("warns when two Sidecars apply at one level and ignores Sidecars for gateways", () => {
    const resources = [
      ...MESH,
      sidecarResource(
        "a",
        "default",
        { outboundTrafficPolicy: { mode: "REGISTRY_ONLY" } },
        "2024-01-01T00:00:00Z",
      ),
      sidecarResource(
        "b",
        "default",
        { outboundTrafficPolicy: { mode: "ALLOW_ANY" } },
        "2024-02-01T00:00:00Z",
      ),
    ];
    const { decision, diagnostics } = decide(resources, sidecar(), "example.org");
    expect(decision).toMatchObject({ status: 502 });
    expect(diagnostics.filter((d) => d.code === "JIBE2040").map((d) => d.resource)).toEqual([
      "Sidecar/default/b",
    ]);
    const partial = decide(
      [
        ...MESH,
        sidecarResource("c", "default", {
          ingress: [{ port: { number: 9080, name: "http" }, defaultEndpoint: "127.0.0.1:8080" }],
          egress: [{ port: { number: 9080, name: "http" }, hosts: ["./*"] }],
        }),
      ],
      sidecar(),
      "reviews",
    );
    expect(partial.diagnostics.filter((d) => d.code === "JIBE2008").map((d) => d.path)).toEqual([
      "spec.egress[0].port",
      "spec.ingress",
    ]);
    const edge: ProxyIdentity = {
      id: "edge~t",
      role: "gateway",
      namespace: "default",
      labels: {},
      gateways: [],
    };
    expect(decide(resources, edge, "example.org").decision.kind).toBe("noRoute");
  });
});
