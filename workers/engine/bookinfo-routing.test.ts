import { existsSync, readFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";
import type { StoredResource } from "../../broker/events.ts";
import { compile } from "../../control/compile/compile.ts";
import type { Diagnostic, ProxyIdentity } from "../../control/compile/snapshot.ts";
import { bookinfoMesh, gateway, sidecar } from "../../control/compile/test-resources.ts";
import { parseDocuments } from "../../control/model/parse.ts";
import { validateDocuments } from "../../control/model/validate.ts";
import { decideRoute, type RequestFacts, type RouteDecision } from "./decide-route.ts";
import { seededRandom } from "./engine-fixtures.ts";
import { decideFault } from "./fault.ts";
import { buildRouteTable, type RouteTable } from "./route-table.ts";

// Behaviour on Istio's own bookinfo samples, read from the shared folder beside the repo (never
// copied into it). Node only: workerd has no file system; the shared engine suite covers workerd.
const SAMPLES = fileURLToPath(
  new URL("../../../shared/conformance/istio-samples/bookinfo/networking/", import.meta.url),
);
if (!existsSync(SAMPLES)) {
  throw new Error(
    `Istio bookinfo samples not found at ${SAMPLES}; the shared/ folder must sit beside the repository`,
  );
}

function samples(...files: string[]): StoredResource[] {
  const docs = files.flatMap((f) => parseDocuments(readFileSync(SAMPLES + f, "utf8"), f).documents);
  return validateDocuments(docs).resources;
}

function mesh(
  files: string[],
  proxy: ProxyIdentity = sidecar(),
): { table: RouteTable; diagnostics: Diagnostic[] } {
  const { snapshot, diagnostics } = compile([...bookinfoMesh(), ...samples(...files)], proxy);
  return { table: buildRouteTable(snapshot), diagnostics };
}

const get = (authority: string, path: string, headers: Record<string, string> = {}): RequestFacts => ({
  authority,
  path,
  method: "GET",
  scheme: "http",
  headers,
});

const subsetOf = (d: RouteDecision) =>
  d.kind === "forward" ? (d.cluster.subset ?? "all") : d.kind === "direct" ? `direct ${d.status}` : "noRoute";

function shares(table: RouteTable, facts: RequestFacts, n = 10_000): Record<string, number> {
  const random = seededRandom(11);
  const counts: Record<string, number> = {};
  for (let i = 0; i < n; i++) {
    const s = subsetOf(decideRoute(table, facts, random));
    counts[s] = (counts[s] ?? 0) + 1 / n;
  }
  return counts;
}

describe("bookinfo samples: routing behaviour", () => {
  it("virtual-service-all-v1 sends every service to v1", () => {
    const { table, diagnostics } = mesh(["destination-rule-all.yaml", "virtual-service-all-v1.yaml"]);
    expect(diagnostics).toEqual([]);
    for (const host of ["productpage", "reviews", "ratings", "details"]) {
      expect(subsetOf(decideRoute(table, get(`${host}:9080`, "/"), Math.random))).toBe("v1");
    }
  });

  it("virtual-service-reviews-v3 sends all reviews traffic to v3", () => {
    const { table } = mesh(["destination-rule-all.yaml", "virtual-service-reviews-v3.yaml"]);
    expect(shares(table, get("reviews:9080", "/reviews/0"), 1000)).toEqual({ v3: expect.closeTo(1, 5) });
  });

  it("virtual-service-reviews-test-v2 sends jason to v2 and others to v1", () => {
    const { table } = mesh(["destination-rule-all.yaml", "virtual-service-reviews-test-v2.yaml"]);
    expect(
      subsetOf(decideRoute(table, get("reviews:9080", "/reviews/0", { "end-user": "jason" }), Math.random)),
    ).toBe("v2");
    expect(
      subsetOf(decideRoute(table, get("reviews:9080", "/reviews/0", { "end-user": "kim" }), Math.random)),
    ).toBe("v1");
  });

  it("virtual-service-reviews-jason-v2-v3 sends jason to v2 and others to v3", () => {
    const { table } = mesh(["destination-rule-all.yaml", "virtual-service-reviews-jason-v2-v3.yaml"]);
    expect(
      subsetOf(decideRoute(table, get("reviews:9080", "/reviews/0", { "end-user": "jason" }), Math.random)),
    ).toBe("v2");
    expect(subsetOf(decideRoute(table, get("reviews:9080", "/reviews/0"), Math.random))).toBe("v3");
  });

  it.each([
    ["virtual-service-reviews-50-v3.yaml", { v1: 0.5, v3: 0.5 }],
    ["virtual-service-reviews-v2-v3.yaml", { v2: 0.5, v3: 0.5 }],
    ["virtual-service-reviews-80-20.yaml", { v1: 0.8, v2: 0.2 }],
    ["virtual-service-reviews-90-10.yaml", { v1: 0.9, v2: 0.1 }],
  ])("%s splits traffic by weight", (file, expected) => {
    const { table } = mesh(["destination-rule-all.yaml", file]);
    const actual = shares(table, get("reviews:9080", "/reviews/0"));
    expect(Object.keys(actual).sort()).toEqual(Object.keys(expected).sort());
    for (const [subset, share] of Object.entries(expected)) expect(actual[subset]).toBeCloseTo(share, 1);
  });

  it("virtual-service-ratings-test-abort answers 500 (FI) for jason, routes others to v1", () => {
    const { table } = mesh(["destination-rule-all.yaml", "virtual-service-ratings-test-abort.yaml"]);
    const jason = decideRoute(table, get("ratings:9080", "/ratings/0", { "end-user": "jason" }), Math.random);
    expect(jason.kind === "forward" && decideFault(jason.route.fault, Math.random)).toEqual({
      abort: { httpStatus: 500 },
    });
    const other = decideRoute(table, get("ratings:9080", "/ratings/0"), Math.random);
    expect(subsetOf(other)).toBe("v1");
    expect(other.kind === "forward" && decideFault(other.route.fault, Math.random)).toEqual({});
  });

  it("virtual-service-ratings-test-delay delays jason by 7 s on the way to v1, nobody else", () => {
    const { table, diagnostics } = mesh([
      "destination-rule-all.yaml",
      "virtual-service-ratings-test-delay.yaml",
    ]);
    expect(diagnostics).toEqual([]);
    const jason = decideRoute(table, get("ratings:9080", "/", { "end-user": "jason" }), Math.random);
    expect(subsetOf(jason)).toBe("v1");
    expect(jason.kind === "forward" && decideFault(jason.route.fault, Math.random)).toEqual({
      delayMs: 7000,
    });
    const other = decideRoute(table, get("ratings:9080", "/"), Math.random);
    expect(other.kind === "forward" && other.route.fault).toBeUndefined();
  });

  it("fault-injection-details-v1 aborts every details request with 555", () => {
    const { table } = mesh(["fault-injection-details-v1.yaml"]);
    const d = decideRoute(table, get("details:9080", "/details/0"), Math.random);
    expect(d.kind === "forward" && decideFault(d.route.fault, Math.random)).toEqual({
      abort: { httpStatus: 555 },
    });
  });

  it("virtual-service-ratings-db fails closed: subset v2 of ratings exists, the route works", () => {
    const { table, diagnostics } = mesh(["destination-rule-all.yaml", "virtual-service-ratings-db.yaml"]);
    expect(diagnostics).toEqual([]);
    expect(subsetOf(decideRoute(table, get("ratings:9080", "/"), Math.random))).toBe("v2");
    expect(subsetOf(decideRoute(table, get("reviews:9080", "/"), Math.random))).toBe("v3");
  });

  it("destination-rule-all-mtls: the same subsets, every cluster originating Istio mutual TLS", () => {
    const { table, diagnostics } = mesh(["destination-rule-all-mtls.yaml", "virtual-service-all-v1.yaml"]);
    expect(diagnostics).toEqual([]);
    for (const host of ["productpage", "reviews", "ratings", "details"]) {
      const decision = decideRoute(table, get(`${host}:9080`, "/"), Math.random);
      expect(decision).toMatchObject({ kind: "forward", cluster: { subset: "v1", tlsMode: "ISTIO_MUTUAL" } });
    }
  });

  it("virtual-service-details-v2 sends every details request to v2", () => {
    const { table, diagnostics } = mesh(["destination-rule-all.yaml", "virtual-service-details-v2.yaml"]);
    expect(diagnostics).toEqual([]);
    expect(shares(table, get("details:9080", "/details/0"), 1000)).toEqual({ v2: expect.closeTo(1, 5) });
  });

  it("virtual-service-ratings-mysql sends reviews to v3 and ratings to v2-mysql", () => {
    const { table, diagnostics } = mesh(["destination-rule-all.yaml", "virtual-service-ratings-mysql.yaml"]);
    expect(diagnostics).toEqual([]);
    expect(subsetOf(decideRoute(table, get("reviews:9080", "/"), Math.random))).toBe("v3");
    expect(subsetOf(decideRoute(table, get("ratings:9080", "/"), Math.random))).toBe("v2-mysql");
  });

  it("virtual-service-ratings-mysql-vm sends reviews to v3 and ratings to the VM subset v2-mysql-vm", () => {
    const { table, diagnostics } = mesh([
      "destination-rule-all.yaml",
      "virtual-service-ratings-mysql-vm.yaml",
    ]);
    expect(diagnostics).toEqual([]);
    expect(subsetOf(decideRoute(table, get("reviews:9080", "/"), Math.random))).toBe("v3");
    expect(subsetOf(decideRoute(table, get("ratings:9080", "/"), Math.random))).toBe("v2-mysql-vm");
  });

  it("a route to a subset without DestinationRule answers 503 and is reported", () => {
    const { table, diagnostics } = mesh(["virtual-service-reviews-v3.yaml"]);
    expect(decideRoute(table, get("reviews:9080", "/"), Math.random)).toMatchObject({
      kind: "direct",
      status: 503,
    });
    expect(diagnostics).toContainEqual(expect.objectContaining({ code: "JIBE2001", severity: "error" }));
  });

  it("destination-rule-reviews balances reviews subsets randomly", () => {
    const { snapshot } = compile([...bookinfoMesh(), ...samples("destination-rule-reviews.yaml")], sidecar());
    expect(snapshot.clusters["outbound|9080|v1|reviews.default.svc.cluster.local"]?.loadBalancer).toBe(
      "RANDOM",
    );
  });

  it("bookinfo-gateway routes at the proxy its Gateway selects (istio: ingressgateway)", () => {
    const ingress = { ...gateway([]), labels: { istio: "ingressgateway" } };
    const { table } = mesh(["bookinfo-gateway.yaml"], ingress);
    for (const path of ["/productpage", "/static/css/app.css", "/login", "/api/v1/products/0"]) {
      const d = decideRoute(table, get("bookinfo.example.com", path), Math.random);
      expect(d.kind === "forward" && d.cluster.name).toBe(
        "outbound|9080||productpage.default.svc.cluster.local",
      );
    }
    expect(decideRoute(table, get("bookinfo.example.com", "/admin"), Math.random).kind).toBe("noRoute");
  });

  it("egress-rule-google-apis: port 80 of the ServiceEntry host goes to its 443 cluster, which originates TLS", () => {
    const { table, diagnostics } = mesh(["egress-rule-google-apis.yaml"]);
    expect(diagnostics.filter((d) => d.severity === "error")).toEqual([]);
    expect(decideRoute(table, get("www.googleapis.com", "/"), Math.random)).toMatchObject({
      kind: "forward",
      cluster: { name: "outbound|443||www.googleapis.com", tlsMode: "SIMPLE" },
    });
  });
});
