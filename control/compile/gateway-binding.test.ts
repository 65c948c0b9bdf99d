import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import type { StoredResource } from "../../broker/events.ts";
import { decideRoute, type RequestFacts } from "../../workers/engine/decide-route.ts";
import { buildRouteTable } from "../../workers/engine/route-table.ts";
import { parseDocuments } from "../model/parse.ts";
import { validateDocuments } from "../model/validate.ts";
import { compile } from "./compile.ts";
import type { ProxyIdentity } from "./snapshot.ts";
import { bookinfoMesh, sidecar, virtualService } from "./test-resources.ts";

const SAMPLES = new URL("../../../shared/conformance/istio-samples/bookinfo/networking/", import.meta.url);
const samples = (file: string) =>
  validateDocuments(parseDocuments(readFileSync(new URL(file, SAMPLES), "utf8")).documents).resources;

/** An ingress gateway proxy as Istio labels one (the edge worker's default labels). */
const ingressGateway: ProxyIdentity = {
  id: "edge~test",
  role: "gateway",
  namespace: "default",
  labels: { istio: "ingressgateway" },
  gateways: [],
};
const get = (authority: string, path: string, scheme: "http" | "https" = "http"): RequestFacts => ({
  authority,
  path,
  method: "GET",
  scheme,
  headers: {},
});
const istioGateway = (
  name: string,
  servers: unknown,
  namespace = "default",
  selector = { istio: "ingressgateway" },
): StoredResource => ({
  apiVersion: "networking.istio.io/v1",
  kind: "Gateway",
  metadata: { name, namespace },
  spec: { selector, servers },
});

function table(resources: StoredResource[], proxy: ProxyIdentity = ingressGateway) {
  const { snapshot, diagnostics } = compile([...bookinfoMesh(), ...resources], proxy);
  return { table: buildRouteTable(snapshot), diagnostics };
}

describe("compile: Istio Gateway at the ingress (edge) proxy", () => {
  it("bookinfo-gateway.yaml routes the public paths to productpage, and nothing else", () => {
    const { table: t, diagnostics } = table(samples("bookinfo-gateway.yaml"));
    expect(diagnostics.filter((d) => d.severity === "error")).toEqual([]);
    const at = (path: string) => decideRoute(t, get("bookinfo.example.com", path), () => 0);
    expect(at("/productpage")).toMatchObject({
      kind: "forward",
      cluster: { name: "outbound|9080||productpage.default.svc.cluster.local" },
    });
    expect(at("/static/css/x.css").kind).toBe("forward");
    expect(at("/reviews/1").kind).toBe("noRoute");
    // The sidecars never see a VirtualService bound only to a gateway ("mesh" is not implied):
    // the host is unknown to them and goes to its original destination (ALLOW_ANY), not productpage.
    const mesh = buildRouteTable(
      compile([...bookinfoMesh(), ...samples("bookinfo-gateway.yaml")], sidecar()).snapshot,
    );
    expect(decideRoute(mesh, get("bookinfo.example.com", "/productpage"), () => 0)).toMatchObject({
      kind: "forward",
      cluster: { name: "PassthroughCluster" },
    });
  });

  it("a proxy whose labels the selector does not match implements nothing", () => {
    const other = { ...ingressGateway, labels: { istio: "egressgateway" } };
    const { table: t } = table(samples("bookinfo-gateway.yaml"), other);
    expect(decideRoute(t, get("bookinfo.example.com", "/productpage"), () => 0).kind).toBe("noRoute");
  });

  it("server hosts narrow the VirtualService hosts, with namespace/host forms", () => {
    const resources = [
      istioGateway("public", [
        {
          port: { number: 80, name: "http", protocol: "HTTP" },
          hosts: ["default/shop.example.com", "other/admin.example.com"],
        },
      ]),
      virtualService("shop", {
        hosts: ["*"],
        gateways: ["public"],
        http: [{ directResponse: { status: 200 } }],
      }),
      virtualService("admin", {
        hosts: ["admin.example.com"],
        gateways: ["default/public"],
        http: [{ directResponse: { status: 201 } }],
      }),
    ];
    const { table: t, diagnostics } = table(resources);
    expect(decideRoute(t, get("shop.example.com", "/"), () => 0)).toMatchObject({
      kind: "direct",
      status: 200,
    });
    expect(decideRoute(t, get("elsewhere.example.com", "/"), () => 0).kind).toBe("noRoute");
    // admin.example.com is only exposed to VirtualServices of namespace "other".
    expect(decideRoute(t, get("admin.example.com", "/"), () => 0).kind).toBe("noRoute");
    expect(diagnostics.find((d) => d.code === "JIBE2041")).toMatchObject({
      resource: "VirtualService/default/admin",
      path: "spec.hosts",
    });
  });

  it("httpsRedirect answers plain HTTP with a 301 to https; HTTPS is routed; SIMPLE TLS is not reported", () => {
    const resources = [
      istioGateway("tls", [
        {
          port: { number: 80, name: "http", protocol: "HTTP" },
          hosts: ["shop.example.com"],
          tls: { httpsRedirect: true },
        },
        {
          port: { number: 443, name: "https", protocol: "HTTPS" },
          hosts: ["shop.example.com"],
          tls: { mode: "SIMPLE", credentialName: "shop-cert" },
        },
      ]),
      virtualService("shop", {
        hosts: ["shop.example.com"],
        gateways: ["tls"],
        http: [{ route: [{ destination: { host: "productpage" } }] }],
      }),
    ];
    const { table: t, diagnostics } = table(resources);
    expect(decideRoute(t, get("shop.example.com", "/a?b=1"), () => 0)).toMatchObject({
      kind: "redirect",
      status: 301,
      location: "https://shop.example.com/a?b=1",
    });
    expect(decideRoute(t, get("shop.example.com", "/a", "https"), () => 0).kind).toBe("forward");
    // SIMPLE is enforced by the Node ingress gateway: no "not enforced" warning.
    expect(diagnostics.filter((d) => d.code === "JIBE2008")).toEqual([]);
  });

  it("httpsRedirect applies only to the hosts of the server that asks for it", () => {
    const resources = [
      istioGateway("mixed", [
        {
          port: { number: 80, name: "http", protocol: "HTTP" },
          hosts: ["secure.example.com"],
          tls: { httpsRedirect: true },
        },
        { port: { number: 8080, name: "plain", protocol: "HTTP" }, hosts: ["plain.example.com"] },
      ]),
      virtualService("all", {
        hosts: ["*"],
        gateways: ["mixed"],
        http: [{ directResponse: { status: 200 } }],
      }),
    ];
    const { table: t } = table(resources);
    expect(decideRoute(t, get("secure.example.com:80", "/"), () => 0)).toMatchObject({
      kind: "redirect",
      status: 301,
    });
    expect(decideRoute(t, get("plain.example.com", "/"), () => 0)).toMatchObject({
      kind: "direct",
      status: 200,
    });
    expect(decideRoute(t, get("secure.example.com", "/", "https"), () => 0)).toMatchObject({
      kind: "direct",
      status: 200,
    });
  });

  it("match-level gateways and `mesh` split one VirtualService between sidecars and the gateway", () => {
    const resources = [
      istioGateway("public", [{ port: { number: 80, name: "http", protocol: "HTTP" }, hosts: ["*"] }]),
      virtualService("reviews", {
        hosts: ["reviews"],
        gateways: ["public", "mesh"],
        http: [
          { match: [{ gateways: ["public"] }], directResponse: { status: 403 } },
          { route: [{ destination: { host: "reviews" } }] },
        ],
      }),
    ];
    const edge = table(resources).table;
    expect(decideRoute(edge, get("reviews.default.svc.cluster.local", "/"), () => 0)).toMatchObject({
      status: 403,
    });
    const mesh = buildRouteTable(compile([...bookinfoMesh(), ...resources], sidecar()).snapshot);
    expect(decideRoute(mesh, get("reviews", "/"), () => 0).kind).toBe("forward");
  });
});
