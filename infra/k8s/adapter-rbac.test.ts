import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { parseAllDocuments } from "yaml";
import { WATCHED_KINDS } from "../../control/k8s-adapter/kube-client.ts";

interface Rule {
  apiGroups: string[];
  resources: string[];
  verbs: string[];
}

const docs = parseAllDocuments(readFileSync(new URL("./adapter-rbac.yaml", import.meta.url), "utf8")).map(
  (d) => d.toJS() as { kind: string; rules?: Rule[] },
);
const rules = docs.find((d) => d.kind === "ClusterRole")?.rules ?? [];

function allowed(group: string, resource: string): string[] {
  return rules
    .filter((r) => r.apiGroups.includes(group) && r.resources.includes(resource))
    .flatMap((r) => r.verbs)
    .sort();
}

describe("the adapter's RBAC", () => {
  it("lets it list and watch every kind it watches, and nothing more on them", () => {
    for (const { group, plural } of Object.values(WATCHED_KINDS)) {
      expect(allowed(group, plural), `${group}/${plural}`).toEqual(["list", "watch"]);
    }
  });

  it("lets it write only the status of the Istio kinds and of Gateway API Gateways, HTTPRoutes and GRPCRoutes, and create Events", () => {
    for (const plural of [
      "virtualservices",
      "destinationrules",
      "workloadentries",
      "serviceentries",
      "sidecars",
      "gateways",
    ]) {
      expect(allowed("networking.istio.io", `${plural}/status`)).toEqual(["update"]);
    }
    for (const plural of ["gateways", "httproutes", "grpcroutes", "tcproutes", "tlsroutes"])
      expect(allowed("gateway.networking.k8s.io", `${plural}/status`)).toEqual(["update"]);
    expect(allowed("gateway.networking.k8s.io", "gatewayclasses/status")).toEqual([]);
    expect(allowed("", "events")).toEqual(["create"]);
    expect(rules.flatMap((r) => r.verbs)).not.toContain("*");
    expect(rules.flatMap((r) => r.verbs)).not.toContain("delete");
  });
});
