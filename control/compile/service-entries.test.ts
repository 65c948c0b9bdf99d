import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import type { StoredResource } from "../../broker/events.ts";
import { decideRoute, type RequestFacts } from "../../workers/engine/decide-route.ts";
import { buildRouteTable } from "../../workers/engine/route-table.ts";
import { parseDocuments } from "../model/parse.ts";
import { validateDocuments } from "../model/validate.ts";
import { compile } from "./compile.ts";
import type { ProxyIdentity } from "./snapshot.ts";
import { service, sidecar, virtualService, workloadEntry } from "./test-resources.ts";

const SAMPLES = new URL("../../../shared/conformance/istio-samples/bookinfo/networking/", import.meta.url);

const entry = (name: string, spec: unknown, namespace = "default"): StoredResource => ({
  apiVersion: "networking.istio.io/v1",
  kind: "ServiceEntry",
  metadata: { name, namespace },
  spec,
});
const get = (authority: string, path = "/"): RequestFacts => ({
  authority,
  path,
  method: "GET",
  scheme: "http",
  headers: {},
});

function route(resources: StoredResource[], facts: RequestFacts, proxy: ProxyIdentity = sidecar()) {
  const { snapshot, diagnostics } = compile(resources, proxy);
  const decision = decideRoute(buildRouteTable(snapshot), facts, () => 0);
  return { decision, diagnostics, snapshot };
}

describe("compile: ServiceEntry hosts are services VirtualServices and DestinationRules target", () => {
  it("egress-rule-google-apis.yaml: port 80 is routed to the 443 cluster, which originates TLS", () => {
    const text = readFileSync(new URL("egress-rule-google-apis.yaml", SAMPLES), "utf8");
    const { resources } = validateDocuments(parseDocuments(text).documents);
    const { decision, diagnostics } = route(resources, get("www.googleapis.com"));
    expect(diagnostics.filter((d) => d.severity === "error")).toEqual([]);
    expect(decision.kind).toBe("forward");
    if (decision.kind !== "forward") return;
    expect(decision.cluster).toMatchObject({
      name: "outbound|443||www.googleapis.com",
      tlsMode: "SIMPLE",
      // DNS resolution: the host itself, resolved when the proxy connects.
      endpoints: [{ address: "www.googleapis.com", port: 443 }],
    });
  });

  it("STATIC endpoints with labels feed DestinationRule subsets (bookinfo's ratings on a VM)", () => {
    const resources = [
      entry("mysqldb", {
        hosts: ["mysqldb.vm.internal"],
        location: "MESH_INTERNAL",
        ports: [{ number: 3306, name: "tcp", protocol: "TCP", targetPort: 13306 }],
        resolution: "STATIC",
        endpoints: [
          { address: "10.0.0.7", labels: { version: "v1" } },
          { address: "10.0.0.8", ports: { tcp: 23306 }, labels: { version: "v2" } },
        ],
      }),
      {
        apiVersion: "networking.istio.io/v1",
        kind: "DestinationRule",
        metadata: { name: "mysqldb", namespace: "default" },
        spec: { host: "mysqldb.vm.internal", subsets: [{ name: "v2", labels: { version: "v2" } }] },
      },
    ];
    const { snapshot } = compile(resources, sidecar());
    expect(snapshot.clusters["outbound|3306||mysqldb.vm.internal"]?.endpoints).toEqual([
      { address: "10.0.0.7", port: 13306, labels: { version: "v1" } },
      { address: "10.0.0.8", port: 23306, labels: { version: "v2" } },
    ]);
    expect(
      snapshot.clusters["outbound|3306|v2|mysqldb.vm.internal"]?.endpoints.map((e) => e.address),
    ).toEqual(["10.0.0.8"]);
  });

  it("a workloadSelector picks WorkloadEntries; NONE is an original-destination cluster", () => {
    const resources = [
      entry("vm", {
        hosts: ["legacy.internal"],
        location: "MESH_INTERNAL",
        ports: [{ number: 80, name: "http", protocol: "HTTP" }],
        resolution: "STATIC",
        workloadSelector: { labels: { app: "legacy" } },
      }),
      workloadEntry("legacy", "v1", 18080),
      entry("wiki", {
        hosts: ["*.wikipedia.org"],
        ports: [{ number: 80, name: "http", protocol: "HTTP" }],
        resolution: "NONE",
      }),
    ];
    const legacy = route(resources, get("legacy.internal"));
    expect(legacy.decision.kind === "forward" && legacy.decision.cluster.endpoints).toEqual([
      { address: "127.0.0.1", port: 18080, labels: { app: "legacy", version: "v1" } },
    ]);
    const byAddress = route(
      [
        entry("vip", {
          hosts: ["db.internal"],
          addresses: ["10.9.0.1", "10.7.0.2/32"],
          ports: [{ number: 80, name: "http" }],
          resolution: "DNS",
          endpoints: [{ address: "db-1.internal" }],
        }),
      ],
      get("10.9.0.1"),
    );
    expect(byAddress.decision.kind === "forward" && byAddress.decision.cluster.name).toBe(
      "outbound|80||db.internal",
    );
    const wiki = route(resources, get("en.wikipedia.org"));
    expect(wiki.decision.kind === "forward" && wiki.decision.cluster).toMatchObject({
      name: "outbound|80||*.wikipedia.org",
      originalDestination: true,
      endpoints: [],
    });
  });

  it("a VirtualService for the host applies; exportTo hides the host from other namespaces", () => {
    const resources = [
      entry(
        "api",
        {
          hosts: ["api.example.com"],
          ports: [{ number: 80, name: "http" }],
          resolution: "DNS",
          exportTo: ["."],
        },
        "team",
      ),
      virtualService(
        "api",
        {
          hosts: ["api.example.com"],
          http: [{ timeout: "2s", route: [{ destination: { host: "api.example.com" } }] }],
        },
        { namespace: "team" },
      ),
      service("productpage"),
    ];
    const inTeam = route(resources, get("api.example.com"), sidecar("web", "team"));
    expect(inTeam.decision).toMatchObject({
      kind: "forward",
      timeoutMs: 2000,
      cluster: { name: "outbound|80||api.example.com" },
    });
    const elsewhere = route(resources, get("api.example.com"), sidecar("productpage", "default"));
    // Not exported here: the (exported) VirtualService still routes the host, but this proxy has
    // no cluster for the entry, so the route fails closed as Envoy's missing cluster does.
    expect(elsewhere.decision).toMatchObject({ kind: "direct", status: 503, flag: "NC" });
    expect(elsewhere.snapshot.clusters["outbound|80||api.example.com"]).toBeUndefined();
  });
});
