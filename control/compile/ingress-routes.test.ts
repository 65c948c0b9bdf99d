import { describe, expect, it } from "vitest";
import type { StoredResource } from "../../broker/events.ts";
import { decideRoute, type RequestFacts } from "../../workers/engine/decide-route.ts";
import { buildRouteTable } from "../../workers/engine/route-table.ts";
import { compile } from "./compile.ts";
import type { ProxyIdentity } from "./snapshot.ts";
import { service, sidecar } from "./test-resources.ts";

const edge: ProxyIdentity = { id: "edge~t", role: "gateway", namespace: "default", labels: {}, gateways: [] };
const ingress = (
  name: string,
  spec: unknown,
  annotations?: Record<string, string>,
  created = "",
): StoredResource => ({
  apiVersion: "networking.k8s.io/v1",
  kind: "Ingress",
  metadata: {
    name,
    namespace: "default",
    ...(annotations ? { annotations } : {}),
    ...(created ? { creationTimestamp: created } : {}),
  },
  spec,
});
const to = (name: string, port: { number?: number; name?: string } = { number: 9080 }) => ({
  service: { name, port },
});
const get = (authority: string, path: string): RequestFacts => ({
  authority,
  path,
  method: "GET",
  scheme: "http",
  headers: {},
});
const SERVICES = [
  service("productpage"),
  service("static"),
  service("api", { ports: [{ name: "http", port: 8080 }] }),
];

function clusterFor(resources: StoredResource[], authority: string, path: string, proxy = edge): string {
  const { snapshot } = compile([...SERVICES, ...resources], proxy);
  const d = decideRoute(buildRouteTable(snapshot), get(authority, path), () => 0);
  if (d.kind !== "forward") return d.kind;
  return d.cluster.originalDestination ? d.cluster.name : d.cluster.name.split("|")[3]!.split(".")[0]!;
}

describe("compile: Kubernetes Ingress at the edge", () => {
  const shop = ingress("shop", {
    ingressClassName: "jibe",
    rules: [
      {
        host: "shop.example.com",
        http: {
          paths: [
            { path: "/", pathType: "Prefix", backend: to("productpage") },
            { path: "/static/", pathType: "Prefix", backend: to("static") },
            { path: "/api", pathType: "Exact", backend: to("api", { name: "http" }) },
          ],
        },
      },
    ],
  });

  it("Prefix matches whole path elements; the longest path wins; Exact is exact", () => {
    const at = (path: string) => clusterFor([shop], "shop.example.com", path);
    expect(at("/static")).toBe("static");
    expect(at("/static/app.js")).toBe("static");
    expect(at("/staticfile")).toBe("productpage");
    expect(at("/api")).toBe("api");
    expect(at("/api/v1")).toBe("productpage");
    expect(at("/")).toBe("productpage");
    expect(clusterFor([shop], "other.example.com", "/")).toBe("noRoute");
    const { snapshot } = compile([...SERVICES, shop], edge);
    expect(snapshot.clusters["outbound|8080||api.default.svc.cluster.local"]).toBeDefined();
    const apiRoute = snapshot.virtualHosts
      .find((v) => v.name === "ingress|shop.example.com")
      ?.routes.find((r) => r.origin.endsWith("paths[2]"));
    expect(apiRoute?.action).toMatchObject({
      destinations: [{ cluster: "outbound|8080||api.default.svc.cluster.local" }],
    });
  });

  it("equal paths prefer Exact; defaultBackend catches the rest on every host", () => {
    const both = ingress("both", {
      ingressClassName: "jibe",
      defaultBackend: to("static"),
      rules: [
        {
          host: "a.example.com",
          http: {
            paths: [
              { path: "/x", pathType: "Prefix", backend: to("productpage") },
              { path: "/x", pathType: "Exact", backend: to("api", { number: 8080 }) },
            ],
          },
        },
      ],
    });
    expect(clusterFor([both], "a.example.com", "/x")).toBe("api");
    expect(clusterFor([both], "a.example.com", "/x/y")).toBe("productpage");
    expect(clusterFor([both], "a.example.com", "/other")).toBe("static");
    expect(clusterFor([both], "unknown.example.com", "/")).toBe("static");
  });

  it("serves only Jibe-class Ingresses (ingressClassName or the legacy annotation), only at gateways", () => {
    const legacy = ingress(
      "legacy",
      {
        rules: [
          {
            host: "l.example.com",
            http: { paths: [{ path: "/", pathType: "Prefix", backend: to("productpage") }] },
          },
        ],
      },
      { "kubernetes.io/ingress.class": "jibe" },
    );
    const nginx = ingress("nginx", {
      ingressClassName: "nginx",
      rules: [
        {
          host: "n.example.com",
          http: { paths: [{ path: "/", pathType: "Prefix", backend: to("productpage") }] },
        },
      ],
    });
    expect(clusterFor([legacy, nginx], "l.example.com", "/")).toBe("productpage");
    expect(clusterFor([legacy, nginx], "n.example.com", "/")).toBe("noRoute");
    // A sidecar ignores Ingresses: the host is outside its registry, so ALLOW_ANY passes it through.
    expect(clusterFor([legacy], "l.example.com", "/", sidecar())).toBe("PassthroughCluster");
  });

  it("reports unknown backends (503) and TLS without a Secret", () => {
    const broken = ingress("broken", {
      ingressClassName: "jibe",
      tls: [{ hosts: ["b.example.com"], secretName: "b-cert" }, { hosts: ["b.example.com"] }],
      rules: [
        {
          host: "b.example.com",
          http: {
            paths: [
              { path: "/", pathType: "Prefix", backend: to("missing") },
              { path: "/p", pathType: "Prefix", backend: to("productpage", { number: 1 }) },
            ],
          },
        },
      ],
    });
    const { snapshot, diagnostics } = compile([...SERVICES, broken], edge);
    expect(diagnostics.filter((d) => d.code === "JIBE2042").map((d) => d.path)).toEqual([
      "spec.rules[0].http.paths[1].backend.service",
      "spec.rules[0].http.paths[0].backend.service",
    ]);
    // The Node ingress gateway serves spec.tls[0] with Secret b-cert; spec.tls[1] names no Secret.
    expect(diagnostics.filter((d) => d.code === "JIBE2008").map((d) => d.path)).toEqual(["spec.tls[1]"]);
    const d = decideRoute(buildRouteTable(snapshot), get("b.example.com", "/"), () => 0);
    expect(d).toMatchObject({ kind: "direct", status: 503, flag: "NC" });
  });
});
