import { describe, expect, it } from "vitest";
import { compile } from "./compile.ts";
import type { Snapshot } from "./snapshot.ts";
import {
  bookinfoMesh,
  destinationRule,
  gateway,
  service,
  sidecar,
  virtualService,
  workloadEntry,
} from "./test-resources.ts";

const REVIEWS = "reviews.default.svc.cluster.local";
const toSubset = (host: string, subset: string) => ({ route: [{ destination: { host, subset } }] });
const vhost = (snapshot: Snapshot, name: string) => snapshot.virtualHosts.find((v) => v.name === name);

describe("compile: services and endpoints", () => {
  it("gives every Service a default virtual host answering its DNS names, with and without port", () => {
    const { snapshot } = compile(
      [service("reviews"), service("mongo", { namespace: "db", ports: [{ name: "tcp", port: 27017 }] })],
      sidecar(),
    );
    expect(vhost(snapshot, REVIEWS)?.domains).toEqual([
      "reviews",
      "reviews:9080",
      "reviews.default",
      "reviews.default:9080",
      "reviews.default.svc",
      "reviews.default.svc:9080",
      REVIEWS,
      `${REVIEWS}:9080`,
    ]);
    // Short names only resolve inside the proxy's own namespace, as with Kubernetes DNS.
    expect(vhost(snapshot, "mongo.db.svc.cluster.local")?.domains).not.toContain("mongo");
    expect(vhost(snapshot, REVIEWS)?.routes[0]).toMatchObject({
      origin: "Service/default/reviews#default",
      action: { kind: "route", destinations: [{ cluster: `outbound|9080||${REVIEWS}`, weight: 100 }] },
    });
  });

  it("selects WorkloadEntries of the Service namespace by label; WorkloadEntry ports map by port name", () => {
    const resources = [
      service("reviews", { ports: [{ name: "http", port: 9080, targetPort: 8080 }] }),
      workloadEntry("reviews", "v1", 19081),
      workloadEntry("reviews", "v2", 0, { ports: {} }),
      workloadEntry("reviews", "v3", 19083, { namespace: "other" }),
      workloadEntry("ratings", "v1", 19091),
    ];
    const { snapshot } = compile(resources, sidecar());
    const endpoints = snapshot.clusters[`outbound|9080||${REVIEWS}`]?.endpoints.map(
      (e) => `${e.labels.version}:${e.port}`,
    );
    expect(endpoints).toEqual(["v1:19081", "v2:8080"]);
  });

  it("builds one cluster per DestinationRule subset with the matching endpoints and its load balancer", () => {
    const resources = [
      ...bookinfoMesh(),
      destinationRule("reviews", ["v1", "v2"], { trafficPolicy: { loadBalancer: { simple: "RANDOM" } } }),
    ];
    const { snapshot } = compile(resources, sidecar());
    const v2 = snapshot.clusters[`outbound|9080|v2|${REVIEWS}`];
    expect(v2?.endpoints.map((e) => e.port)).toEqual([19082]);
    expect(v2?.loadBalancer).toBe("RANDOM");
    expect(snapshot.clusters[`outbound|9080||${REVIEWS}`]?.endpoints).toHaveLength(3);
    // Istio's default balancer is LEAST_REQUEST.
    expect(snapshot.clusters["outbound|9080||ratings.default.svc.cluster.local"]?.loadBalancer).toBe(
      "LEAST_REQUEST",
    );
  });
});

describe("compile: virtual services", () => {
  it("replaces a host's default routes; short hosts resolve in the VirtualService's namespace", () => {
    const resources = [
      ...bookinfoMesh(),
      destinationRule("reviews", ["v1", "v3"]),
      virtualService("reviews", { hosts: ["reviews"], http: [toSubset("reviews", "v3")] }),
    ];
    const { snapshot, diagnostics } = compile(resources, sidecar());
    expect(diagnostics).toEqual([]);
    expect(vhost(snapshot, REVIEWS)?.routes).toEqual([
      {
        origin: "VirtualService/default/reviews#0",
        match: [],
        action: { kind: "route", destinations: [{ cluster: `outbound|9080|v3|${REVIEWS}`, weight: 100 }] },
      },
    ]);
  });

  it("fails closed on a subset no DestinationRule defines: error diagnostic, cluster left out", () => {
    const resources = [
      ...bookinfoMesh(),
      virtualService("reviews", { hosts: ["reviews"], http: [toSubset("reviews", "v9")] }),
    ];
    const { snapshot, diagnostics } = compile(resources, sidecar());
    expect(diagnostics).toContainEqual(
      expect.objectContaining({
        severity: "error",
        code: "JIBE2001",
        resource: "VirtualService/default/reviews",
        path: "spec.http[0].route[0].destination.subset",
      }),
    );
    expect(snapshot.clusters[`outbound|9080|v9|${REVIEWS}`]).toBeUndefined();
  });

  it("warns about destinations that are not known Services", () => {
    const { diagnostics } = compile(
      [
        virtualService("ext", {
          hosts: ["api.example.com"],
          http: [{ route: [{ destination: { host: "api.example.com" } }] }],
        }),
      ],
      sidecar(),
    );
    expect(diagnostics).toContainEqual(expect.objectContaining({ severity: "warning", code: "JIBE2002" }));
  });

  it("applies to sidecars only VirtualServices bound to the mesh", () => {
    const gw = virtualService("gw-only", {
      hosts: ["reviews"],
      gateways: ["edge"],
      http: [toSubset("reviews", "v1")],
    });
    const { snapshot } = compile([...bookinfoMesh(), gw], sidecar());
    expect(vhost(snapshot, REVIEWS)?.routes[0]?.origin).toBe("Service/default/reviews#default");
  });

  it("keeps the oldest VirtualService for a sidecar host and warns about the others (Istio IST0109)", () => {
    const older = virtualService(
      "a-new",
      { hosts: ["reviews"], http: [toSubset("reviews", "v2")] },
      { created: "2026-01-01T00:00:00Z" },
    );
    const newer = virtualService(
      "b-old",
      { hosts: ["reviews"], http: [toSubset("reviews", "v3")] },
      { created: "2026-02-01T00:00:00Z" },
    );
    const { snapshot, diagnostics } = compile(
      [...bookinfoMesh(), destinationRule("reviews", ["v2", "v3"]), newer, older],
      sidecar(),
    );
    expect(vhost(snapshot, REVIEWS)?.routes.map((r) => r.origin)).toEqual(["VirtualService/default/a-new#0"]);
    expect(diagnostics).toContainEqual(
      expect.objectContaining({ code: "JIBE2004", resource: "VirtualService/default/b-old" }),
    );
  });

  it("gives gateways only the hosts of VirtualServices bound to them, merged oldest first, catch-all last", () => {
    const first = virtualService(
      "shop",
      { hosts: ["*"], gateways: ["edge"], http: [{ route: [{ destination: { host: "productpage" } }] }] },
      { created: "2026-01-01T00:00:00Z" },
    );
    const second = virtualService(
      "api",
      {
        hosts: ["*"],
        gateways: ["default/edge"],
        http: [{ match: [{ uri: { prefix: "/api" } }], route: [{ destination: { host: "details" } }] }],
      },
      { created: "2026-02-01T00:00:00Z" },
    );
    const other = virtualService("other", {
      hosts: ["*"],
      gateways: ["other-gw"],
      http: [{ route: [{ destination: { host: "ratings" } }] }],
    });
    const { snapshot } = compile([...bookinfoMesh(), first, second, other], gateway(["default/edge"]));
    expect(snapshot.virtualHosts.map((v) => v.name)).toEqual(["*"]);
    expect(snapshot.virtualHosts[0]?.routes.map((r) => r.origin)).toEqual([
      "VirtualService/default/api#0",
      "VirtualService/default/shop#0",
    ]);
  });

  it("routes by the request's port when a multi-port destination names no port", () => {
    const resources = [
      service("web", {
        ports: [
          { name: "http", port: 80 },
          { name: "admin", port: 9000 },
        ],
      }),
      virtualService("web", { hosts: ["web"], http: [{ route: [{ destination: { host: "web" } }] }] }),
    ];
    const routes = vhost(compile(resources, sidecar()).snapshot, "web.default.svc.cluster.local")?.routes;
    expect(
      routes?.map((r) => [r.match, r.action.kind === "route" ? r.action.destinations[0]?.cluster : ""]),
    ).toEqual([
      [[{ port: 80 }], "outbound|80||web.default.svc.cluster.local"],
      [[{ port: 9000 }], "outbound|9000||web.default.svc.cluster.local"],
    ]);
  });

  it("decides sourceLabels and sourceNamespace at compile time for the proxy", () => {
    const vs = virtualService("reviews", {
      hosts: ["reviews"],
      http: [
        {
          match: [{ sourceLabels: { app: "productpage" } }],
          route: [{ destination: { host: "reviews", subset: "v2" } }],
        },
        {
          match: [{ sourceNamespace: "other" }],
          route: [{ destination: { host: "reviews", subset: "v3" } }],
        },
        toSubset("reviews", "v1"),
      ],
    });
    const resources = [...bookinfoMesh(), destinationRule("reviews", ["v1", "v2", "v3"]), vs];
    const fromProductpage = vhost(compile(resources, sidecar("productpage")).snapshot, REVIEWS)?.routes.map(
      (r) => r.origin,
    );
    const fromRatings = vhost(compile(resources, sidecar("ratings")).snapshot, REVIEWS)?.routes.map(
      (r) => r.origin,
    );
    expect(fromProductpage).toEqual(["VirtualService/default/reviews#0", "VirtualService/default/reviews#2"]);
    expect(fromRatings).toEqual(["VirtualService/default/reviews#2"]);
  });
});

describe("compile: invalid input and versions", () => {
  it("re-validates resources and ignores invalid ones, failing closed", () => {
    const broken = virtualService("reviews", {
      hosts: ["reviews"],
      http: [{ route: [{ destination: { host: "reviews" }, weight: -5 }, { destination: { host: "x" } }] }],
    });
    const { snapshot, diagnostics } = compile([...bookinfoMesh(), broken], sidecar());
    expect(diagnostics.map((d) => d.code)).toEqual(expect.arrayContaining(["JIBE1015", "JIBE2005"]));
    expect(vhost(snapshot, REVIEWS)?.routes[0]?.origin).toBe("Service/default/reviews#default");
  });

  it("ignores kinds the routing compiler does not use, with a warning", () => {
    const policy = {
      apiVersion: "extensions.istio.io/v1alpha1",
      kind: "WasmPlugin",
      metadata: { name: "filter", namespace: "default" },
      spec: {},
    };
    expect(compile([policy], sidecar()).diagnostics).toEqual([
      expect.objectContaining({ code: "JIBE2006", severity: "warning" }),
    ]);
  });

  it("has a version that depends on content only, not on input order or revision", () => {
    const resources = [...bookinfoMesh(), destinationRule("reviews", ["v1"])];
    const a = compile(resources, sidecar(), 1).snapshot.version;
    const b = compile([...resources].reverse(), sidecar(), 99).snapshot.version;
    const c = compile(
      [...resources, virtualService("r", { hosts: ["reviews"], http: [toSubset("reviews", "v1")] })],
      sidecar(),
      1,
    ).snapshot.version;
    expect(a).toMatch(/^[0-9a-f]{16}$/);
    expect(b).toBe(a);
    expect(c).not.toBe(a);
  });
});
