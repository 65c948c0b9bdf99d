import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { parseAllDocuments } from "yaml";
import { ANALYSIS_CODES } from "./analysis-codes.ts";
import { type AnalyzedResource, analyzeConfig, type ClusterFacts } from "./analyze.ts";

const bookinfo = new URL("../../../shared/conformance/istio-samples/bookinfo/", import.meta.url);
const load = (path: string): AnalyzedResource[] =>
  parseAllDocuments(readFileSync(new URL(path, bookinfo), "utf8"))
    .map((d) => d.toJS() as AnalyzedResource | null)
    .filter((d): d is AnalyzedResource => d !== null);
const yaml = (text: string): AnalyzedResource[] =>
  parseAllDocuments(text).map((d) => d.toJS() as AnalyzedResource);
const platform = load("platform/kube/bookinfo.yaml").filter((r) => r.kind === "Service");
const codes = (resources: AnalyzedResource[], cluster?: Parameters<typeof analyzeConfig>[0]["cluster"]) =>
  analyzeConfig({ resources, ...(cluster ? { cluster } : {}) }).diagnostics.map(
    (d) => `${d.code} ${d.resource} ${d.path}`,
  );

const reviewsEndpoint = (name: string, version: string) => ({
  apiVersion: "networking.istio.io/v1",
  kind: "WorkloadEntry",
  metadata: { name, namespace: "default" },
  spec: { address: "10.0.0.1", labels: { app: "reviews", version } },
});

describe("jibe analyze", () => {
  it("finds nothing wrong in bookinfo with its DestinationRules and v1 routes", () => {
    const resources = [
      ...platform,
      ...load("networking/destination-rule-all.yaml"),
      ...load("networking/virtual-service-all-v1.yaml"),
    ];
    expect(codes(resources)).toEqual([]);
  });

  it("reports a subset routed to without a DestinationRule defining it", () => {
    const result = analyzeConfig({
      resources: [...platform, ...load("networking/virtual-service-reviews-v3.yaml")],
    });
    expect(result.diagnostics).toContainEqual(
      expect.objectContaining({
        code: "JIBE3001",
        severity: "error",
        resource: "VirtualService/default/reviews",
        path: "spec.http[0].route[0].destination.subset",
      }),
    );
    expect(result.diagnostics[0]?.message).toMatch(
      /subset "v3" of reviews.default.svc.cluster.local is not defined by any DestinationRule/,
    );
  });

  it("reports a DestinationRule subset no endpoint carries the labels of, once endpoints are known", () => {
    const resources = [...platform, ...load("networking/destination-rule-reviews.yaml")];
    expect(codes(resources)).toEqual([]); // no endpoints known: nothing to compare
    const withEndpoints = [
      ...resources,
      reviewsEndpoint("reviews-v1-a", "v1"),
      reviewsEndpoint("reviews-v2-a", "v2"),
    ];
    expect(codes(withEndpoints)).toEqual(["JIBE3002 DestinationRule/default/reviews spec.subsets[2].labels"]);
  });

  it("reports VirtualService hosts and destinations that are no Service, and missing Gateways", () => {
    const resources = [
      ...platform,
      ...yaml(`
apiVersion: networking.istio.io/v1
kind: VirtualService
metadata: { name: typo }
spec:
  hosts: [reveiws]
  http: [{ route: [{ destination: { host: reveiws } }] }]
---
apiVersion: networking.istio.io/v1
kind: VirtualService
metadata: { name: external }
spec:
  hosts: [api.example.com]
  gateways: [bookinfo-gateway, mesh]
  http: [{ route: [{ destination: { host: productpage } }] }]
`),
    ];
    expect(codes(resources).sort()).toEqual([
      "JIBE3003 VirtualService/default/typo spec.hosts[0]",
      "JIBE3004 VirtualService/default/typo spec.http[0].route[0].destination.host",
      "JIBE3009 VirtualService/default/external spec.gateways[0]",
    ]);
    const entry = yaml(`
apiVersion: networking.istio.io/v1
kind: ServiceEntry
metadata: { name: legacy-reviews }
spec: { hosts: [reveiws.default.svc.cluster.local], ports: [{ number: 80, name: http, protocol: HTTP }], resolution: DNS }
`);
    expect(codes([...resources, ...entry])).toEqual([
      "JIBE3009 VirtualService/default/external spec.gateways[0]",
    ]);
    const gateway = load("networking/bookinfo-gateway.yaml").filter((r) => r.kind === "Gateway");
    expect(codes([...resources, ...gateway])).not.toContainEqual(expect.stringMatching(/^JIBE3009/));
  });

  it("reports duplicate rules for one host: two DestinationRules in a namespace, two mesh VirtualServices", () => {
    const dr = load("networking/destination-rule-reviews.yaml")[0] as AnalyzedResource;
    const vs = load("networking/virtual-service-reviews-v3.yaml")[0] as AnalyzedResource;
    const older = { creationTimestamp: "2026-01-01T00:00:00Z" };
    const resources = [
      ...platform,
      { ...dr, metadata: { ...dr.metadata, ...older } },
      { ...dr, metadata: { name: "reviews-again", namespace: "default" } },
      { ...vs, metadata: { ...vs.metadata, ...older } },
      { ...vs, metadata: { name: "reviews-again" } },
    ];
    expect(codes(resources)).toEqual([
      "JIBE3008 VirtualService/default/reviews-again spec.hosts[0]",
      "JIBE3007 DestinationRule/default/reviews-again spec.host",
    ]);
  });

  it("reports Service ports without a protocol (name prefix or appProtocol)", () => {
    const resources = yaml(`
apiVersion: v1
kind: Service
metadata: { name: db, namespace: shop }
spec:
  selector: { app: db }
  ports: [{ name: postgres, port: 5432 }, { port: 8080, appProtocol: http }, { name: grpc-api, port: 9090 }, { port: 9000 }]
`);
    expect(codes(resources)).toEqual([
      "JIBE3006 Service/shop/db spec.ports[0]",
      "JIBE3006 Service/shop/db spec.ports[3]",
    ]);
  });

  it("reports namespaces with Services but no injection, only when it knows the cluster's namespaces", () => {
    const resources = yaml(`
apiVersion: v1
kind: Service
metadata: { name: web, namespace: shop }
spec: { selector: { app: web }, ports: [{ name: http, port: 80 }] }
---
apiVersion: v1
kind: Service
metadata: { name: api, namespace: legacy }
spec: { selector: { app: api }, ports: [{ name: http, port: 80 }] }
`);
    const blind = analyzeConfig({ resources });
    expect(blind.diagnostics).toEqual([]);
    expect(blind.skipped.join("\n")).toMatch(/namespace injection was not checked/);
    const cluster: ClusterFacts = {
      namespaces: [
        { name: "shop", labels: { "istio-injection": "enabled" } },
        { name: "legacy", labels: {} },
        { name: "kube-system", labels: {} },
      ],
    };
    expect(codes(resources, cluster)).toEqual(["JIBE3005 Namespace/legacy metadata.labels"]);
  });

  it("documents every code it emits in one place", () => {
    for (const code of [
      "JIBE3001",
      "JIBE3002",
      "JIBE3003",
      "JIBE3004",
      "JIBE3005",
      "JIBE3006",
      "JIBE3007",
      "JIBE3008",
      "JIBE3009",
    ])
      expect(ANALYSIS_CODES).toHaveProperty(code);
  });
});
