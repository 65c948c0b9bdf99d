import { describe, expect, it } from "vitest";
import type { StoredResource } from "../../broker/events.ts";
import { compile } from "./compile.ts";
import { service, sidecar } from "./test-resources.ts";

/**
 * Several ServiceEntries for one host, as Istio's sidecar scope treats them: entries of one
 * namespace that agree on resolution, exportTo, workloadSelector and labels merge (ports and
 * endpoints); otherwise the first in Istio's order wins for a namespace and the others are
 * ignored with a warning; a Kubernetes Service of the same name beats them all.
 */

const entry = (
  name: string,
  spec: Record<string, unknown>,
  opts: { namespace?: string; created: string; labels?: Record<string, string> },
): StoredResource => ({
  apiVersion: "networking.istio.io/v1",
  kind: "ServiceEntry",
  metadata: {
    name,
    namespace: opts.namespace ?? "default",
    creationTimestamp: opts.created,
    ...(opts.labels ? { labels: opts.labels } : {}),
  },
  spec: { hosts: ["api.example.com"], location: "MESH_EXTERNAL", ...spec },
});
const https = (opts: { namespace?: string; created: string; labels?: Record<string, string> }) =>
  entry(
    "api-https",
    {
      ports: [{ number: 443, name: "https", protocol: "TLS" }],
      resolution: "STATIC",
      endpoints: [{ address: "10.0.0.1" }],
    },
    opts,
  );
const http = (spec: Record<string, unknown> = {}, namespace?: string) =>
  entry(
    "api-http",
    {
      ports: [{ number: 80, name: "http", protocol: "HTTP" }],
      resolution: "STATIC",
      endpoints: [{ address: "10.0.0.2" }],
      ...spec,
    },
    { created: "2026-02-01T00:00:00Z", ...(namespace ? { namespace } : {}) },
  );
const OLDER = "2026-01-01T00:00:00Z";

function clustersOf(resources: StoredResource[], proxy = sidecar()) {
  const { snapshot, diagnostics } = compile(resources, proxy);
  const endpoints = Object.fromEntries(
    Object.entries(snapshot.clusters)
      .filter(([name]) => name.endsWith("|api.example.com"))
      .map(([name, c]) => [name, c.endpoints.map((e) => `${e.address}:${e.port}`)]),
  );
  const ignored = diagnostics.filter((d) => d.code === "JIBE2050");
  return { endpoints, ignored };
}

describe("compile: several ServiceEntries for one host", () => {
  it("merges entries of one namespace that agree: the ports of both, the endpoints of both", () => {
    const { endpoints, ignored } = clustersOf([https({ created: OLDER }), http()]);
    expect(endpoints).toEqual({
      "outbound|443||api.example.com": ["10.0.0.1:443", "10.0.0.2:443"],
      "outbound|80||api.example.com": ["10.0.0.1:80", "10.0.0.2:80"],
    });
    expect(ignored).toEqual([]);
  });

  it("keeps the oldest and warns about the other when resolution, exportTo or labels differ", () => {
    for (const [newer, why] of [
      [http({ resolution: "DNS", endpoints: [{ address: "api.example.com" }] }), "resolution DNS differs"],
      [http({ exportTo: ["*"] }), "exportTo differs"],
    ] as const) {
      const { endpoints, ignored } = clustersOf([https({ created: OLDER }), newer]);
      expect(Object.keys(endpoints)).toEqual(["outbound|443||api.example.com"]);
      expect(ignored).toMatchObject([
        { severity: "warning", resource: "ServiceEntry/default/api-http", path: "spec.hosts" },
      ]);
      expect(ignored[0]?.message).toContain(why);
      expect(ignored[0]?.message).toContain("put the ports and endpoints into one ServiceEntry");
    }
    const labelled = clustersOf([https({ created: OLDER, labels: { team: "a" } }), http()]);
    expect(labelled.ignored[0]?.message).toContain("labels differ");
  });

  it("picks per namespace: entries exported to the proxy's namespace, its private ones first", () => {
    const shared = https({ created: OLDER, namespace: "shared" });
    const local = http({ exportTo: ["."] }, "team");
    // In "team" the private entry wins although it is newer; the shared one is ignored there.
    const inTeam = clustersOf([shared, local], sidecar("web", "team"));
    expect(Object.keys(inTeam.endpoints)).toEqual(["outbound|80||api.example.com"]);
    expect(inTeam.ignored.map((d) => d.resource)).toEqual(["ServiceEntry/shared/api-https"]);
    expect(inTeam.ignored[0]?.message).toContain("namespace shared");
    // Elsewhere the private entry is invisible: the shared one is used, with nothing to warn about.
    const elsewhere = clustersOf([shared, local], sidecar("web", "default"));
    expect(Object.keys(elsewhere.endpoints)).toEqual(["outbound|443||api.example.com"]);
    expect(elsewhere.ignored).toEqual([]);
  });

  it("a Kubernetes Service of the same name wins over every entry (no domain squatting)", () => {
    const squatter = entry(
      "squat",
      {
        hosts: ["reviews.default.svc.cluster.local"],
        ports: [{ number: 80, name: "http" }],
        resolution: "DNS",
      },
      { created: OLDER },
    );
    const { snapshot, diagnostics } = compile([service("reviews"), squatter], sidecar());
    expect(Object.keys(snapshot.clusters).filter((n) => n.includes("reviews"))).toEqual([
      "outbound|9080||reviews.default.svc.cluster.local",
    ]);
    expect(diagnostics.filter((d) => d.code === "JIBE2050")).toMatchObject([
      { resource: "ServiceEntry/default/squat", path: "spec.hosts" },
    ]);
  });
});
