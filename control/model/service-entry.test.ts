import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { resolveKind } from "./kinds.ts";
import { parseDocuments } from "./parse.ts";
import { validateDocuments, validateResource } from "./validate.ts";

const SAMPLES = new URL("../../../shared/conformance/istio-samples/bookinfo/networking/", import.meta.url);

const doc = (kind: string, spec: unknown, namespace = "default") => ({
  apiVersion: "networking.istio.io/v1",
  kind,
  metadata: { name: "x", namespace },
  spec,
});

/** `severity path` of each diagnostic (the message is checked where it matters). */
const paths = (d: unknown) => validateResource(d).diagnostics.map((x) => `${x.severity} ${x.path}`);
const messages = (d: unknown) =>
  validateResource(d)
    .diagnostics.map((x) => x.message)
    .join("\n");

describe("ServiceEntry validation", () => {
  it("accepts Istio's samples and resolves its short names", () => {
    const text = readFileSync(new URL("egress-rule-google-apis.yaml", SAMPLES), "utf8");
    const { resources, diagnostics } = validateDocuments(parseDocuments(text).documents);
    expect(diagnostics).toEqual([]);
    expect(resources.map((r) => r.kind)).toEqual(["ServiceEntry", "VirtualService", "DestinationRule"]);
    expect(resolveKind("se")).toBe("ServiceEntry");
    expect(resolveKind("serviceentries.networking.istio.io")).toBe("ServiceEntry");
    const staticEntry = doc("ServiceEntry", {
      hosts: ["mysqldb.svc.remote"],
      location: "MESH_INTERNAL",
      ports: [{ number: 3306, name: "mysql", protocol: "TCP", targetPort: 13306 }],
      resolution: "STATIC",
      endpoints: [{ address: "10.1.2.3", ports: { mysql: 3306 }, labels: { version: "v1" } }],
      exportTo: ["."],
    });
    expect(validateResource(staticEntry).diagnostics).toEqual([]);
  });

  it("follows Istio's per-resolution rules with field paths", () => {
    expect(
      paths(
        doc("ServiceEntry", {
          hosts: ["a.example.com"],
          ports: [{ number: 80, name: "http" }],
          resolution: "STATIC",
        }),
      ),
    ).toEqual(["error spec.endpoints"]);
    expect(
      paths(
        doc("ServiceEntry", {
          hosts: ["*.example.com"],
          ports: [{ number: 80, name: "http" }],
          resolution: "DNS",
        }),
      ),
    ).toEqual(["error spec.hosts[0]"]);
    expect(
      messages(doc("ServiceEntry", { hosts: ["*.example.com"], ports: [{ number: 80 }], resolution: "DNS" })),
    ).toContain("use resolution NONE");
    expect(
      paths(
        doc("ServiceEntry", {
          hosts: ["a.example.com"],
          ports: [{ number: 80, name: "http" }],
          resolution: "NONE",
          endpoints: [{ address: "db.example.com" }],
        }),
      ),
    ).toEqual(["error spec.endpoints"]);
    expect(
      paths(
        doc("ServiceEntry", {
          hosts: ["a.example.com"],
          ports: [{ number: 80, name: "http" }],
          resolution: "DNS",
          endpoints: [{ address: "a.example.com", ports: { grpc: 9000 } }],
        }),
      ),
    ).toEqual(["error spec.endpoints[0].ports.grpc"]);
    expect(
      paths(
        doc("ServiceEntry", {
          hosts: ["a.example.com"],
          ports: [{ number: 80, name: "http" }],
          resolution: "DNS_ROUND_ROBIN",
          endpoints: [{ address: "a.example.com" }, { address: "b.example.com" }],
        }),
      ),
    ).toEqual(["error spec.endpoints"]);
  });

  it("rejects bad hosts, addresses, ports and exclusive fields", () => {
    expect(paths(doc("ServiceEntry", {}))).toEqual(["error spec.hosts"]);
    expect(
      paths(
        doc("ServiceEntry", {
          hosts: ["*", "a.example.com", "a.example.com"],
          addresses: ["10.0.0.0/16", "nope"],
          ports: [
            { number: 80, name: "http", protocol: "HTTPX" },
            { number: 80, name: "http" },
            { number: 70000, name: "Bad_Name" },
          ],
          resolution: "STATIC",
          workloadSelector: { labels: { app: "vm" } },
          endpoints: [{ address: "10.0.0.1" }],
          exportTo: ["*", "prod"],
        }),
      ),
    ).toEqual([
      "error spec.hosts[0]",
      "error spec.hosts[2]",
      "error spec.addresses[1]",
      "error spec.ports[0].protocol",
      "error spec.ports[1].name",
      "error spec.ports[1].number",
      "error spec.ports[2].number",
      "error spec.ports[2].name",
      "error spec.workloadSelector",
      "error spec.exportTo[0]",
    ]);
    expect(
      paths(doc("ServiceEntry", { hosts: ["a.example.com"], ports: [{ number: 80, targetPort: 8080 }] })),
    ).toEqual(["warning spec.ports[0].targetPort"]);
    expect(paths(doc("ServiceEntry", { hosts: ["a.example.com"], resolution: "MAGIC" }))).toEqual([
      "error spec.resolution",
    ]);
  });
});

describe("Sidecar validation", () => {
  it("checks the mesh-wide outboundTrafficPolicy of the mesh config too", () => {
    const meshConfig = (mesh: string) => ({
      apiVersion: "v1",
      kind: "ConfigMap",
      metadata: { name: "istio", namespace: "istio-system" },
      data: { mesh },
    });
    expect(
      validateResource(meshConfig("outboundTrafficPolicy:\n  mode: REGISTRY_ONLY\n")).diagnostics,
    ).toEqual([]);
    expect(paths(meshConfig("outboundTrafficPolicy:\n  mode: DENY\n"))).toEqual([
      "error data.mesh.outboundTrafficPolicy.mode",
    ]);
  });

  it("accepts Istio's examples", () => {
    const sidecar = doc("Sidecar", {
      workloadSelector: { labels: { app: "ratings" } },
      egress: [
        { port: { number: 9080, protocol: "HTTP", name: "egresshttp" }, hosts: ["prod-us1/*"] },
        { hosts: ["istio-system/*", "./*", "*/reviews.default.svc.cluster.local", "~/*"] },
      ],
      outboundTrafficPolicy: { mode: "REGISTRY_ONLY" },
    });
    expect(validateResource(sidecar).diagnostics).toEqual([]);
    expect(resolveKind("sidecars")).toBe("Sidecar");
  });

  it("names each broken field", () => {
    expect(paths(doc("Sidecar", {}))).toEqual(["error spec"]);
    expect(
      paths(
        doc("Sidecar", {
          workloadSelector: { labels: {} },
          egress: [{ hosts: ["reviews"] }, { hosts: [] }, { hosts: ["Bad_NS/*", "./a*b"] }],
          outboundTrafficPolicy: { mode: "REGISTRY_ONLY", egressProxy: { host: "egress" } },
        }),
      ),
    ).toEqual([
      "error spec.workloadSelector.labels",
      "error spec.egress[0].hosts[0]",
      "error spec.egress[0].port",
      "error spec.egress[1].hosts",
      "error spec.egress[1].port",
      "error spec.egress[2].hosts[0]",
      "error spec.egress[2].hosts[1]",
      "error spec.outboundTrafficPolicy.egressProxy",
    ]);
    expect(messages(doc("Sidecar", { egress: [{ hosts: ["reviews"] }] }))).toContain("<namespace>/<dnsName>");
    expect(paths(doc("Sidecar", { outboundTrafficPolicy: { mode: "DENY" } }))).toEqual([
      "error spec.outboundTrafficPolicy.mode",
    ]);
  });
});
