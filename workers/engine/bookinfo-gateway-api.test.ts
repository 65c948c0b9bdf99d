import { existsSync, readFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";
import type { StoredResource } from "../../broker/events.ts";
import { compile } from "../../control/compile/compile.ts";
import type { ProxyIdentity } from "../../control/compile/snapshot.ts";
import { bookinfoMesh, gateway, service, sidecar } from "../../control/compile/test-resources.ts";
import { parseDocuments } from "../../control/model/parse.ts";
import { validateDocuments } from "../../control/model/validate.ts";
import { decideRoute, type RequestFacts, type RouteDecision } from "./decide-route.ts";
import { seededRandom } from "./engine-fixtures.ts";
import { buildRouteTable, type RouteTable } from "./route-table.ts";

// Behaviour of Istio's bookinfo Gateway API samples, read from the shared folder beside the repo.
// Node only (workerd has no file system); gateway-api.worker.test.ts covers the engine in workerd.
const SAMPLES = fileURLToPath(
  new URL("../../../shared/conformance/istio-samples/bookinfo/gateway-api/", import.meta.url),
);
if (!existsSync(SAMPLES)) {
  throw new Error(
    `Istio bookinfo samples not found at ${SAMPLES}; the shared/ folder must sit beside the repository`,
  );
}

/** bookinfo-versions.yaml: one Service per version (`reviews-v1` selects app reviews, version v1). */
const versionServices = (): StoredResource[] =>
  [
    ["productpage", "v1"],
    ["details", "v1"],
    ["ratings", "v1"],
    ["reviews", "v1"],
    ["reviews", "v2"],
    ["reviews", "v3"],
  ].map(([app, version]) =>
    service(`${app}-${version}`, { selector: { app: app ?? "", version: version ?? "" } }),
  );

function table(files: string[], proxy: ProxyIdentity = sidecar()): RouteTable {
  const docs = files.flatMap((f) => parseDocuments(readFileSync(SAMPLES + f, "utf8"), f).documents);
  const { snapshot, diagnostics } = compile(
    [...bookinfoMesh(), ...versionServices(), ...validateDocuments(docs).resources],
    proxy,
  );
  expect(diagnostics.filter((d) => d.severity === "error")).toEqual([]);
  return buildRouteTable(snapshot);
}

const get = (authority: string, path = "/"): RequestFacts => ({
  authority,
  path,
  method: "GET",
  scheme: "http",
  headers: {},
});

/** The Service a forward goes to, with the endpoint port that encodes the version (19081 = reviews v1). */
const where = (d: RouteDecision) =>
  d.kind === "forward"
    ? `${d.cluster.service.split(".")[0]}@${d.cluster.endpoints.map((e) => e.port).join(",")}`
    : d.kind;

function shares(t: RouteTable, facts: RequestFacts, n = 10_000): Record<string, number> {
  const random = seededRandom(13);
  const out: Record<string, number> = {};
  for (let i = 0; i < n; i++) {
    const w = where(decideRoute(t, facts, random));
    out[w] = (out[w] ?? 0) + 1 / n;
  }
  return out;
}

describe("bookinfo Gateway API samples: routing behaviour", () => {
  it("bookinfo-gateway routes the productpage paths at the gateway, element-wise, nothing else", () => {
    const t = table(["bookinfo-gateway.yaml"], gateway(["default/bookinfo-gateway"]));
    for (const path of [
      "/productpage",
      "/static/css/app.css",
      "/static",
      "/login",
      "/logout",
      "/api/v1/products/0",
    ])
      expect(where(decideRoute(t, get("bookinfo.example.com", path), Math.random))).toBe("productpage@19071");
    for (const path of ["/admin", "/productpage/x", "/staticfiles", "/"])
      expect(decideRoute(t, get("bookinfo.example.com", path), Math.random).kind).toBe("noRoute");
  });

  it("route-all-v1 sends every service to its v1", () => {
    const t = table(["route-all-v1.yaml"]);
    expect(where(decideRoute(t, get("productpage:9080"), Math.random))).toBe("productpage-v1@19071");
    expect(where(decideRoute(t, get("reviews:9080", "/reviews/0"), Math.random))).toBe("reviews-v1@19081");
    expect(where(decideRoute(t, get("ratings:9080"), Math.random))).toBe("ratings-v1@19091");
    expect(where(decideRoute(t, get("details:9080"), Math.random))).toBe("details-v1@19061");
  });

  it.each([
    ["route-reviews-v1.yaml", { "reviews-v1@19081": 1 }],
    ["route-reviews-v3.yaml", { "reviews-v3@19083": 1 }],
    ["route-reviews-50-v3.yaml", { "reviews-v1@19081": 0.5, "reviews-v3@19083": 0.5 }],
    ["route-reviews-90-10.yaml", { "reviews-v1@19081": 0.9, "reviews-v2@19082": 0.1 }],
  ])("%s splits reviews traffic as documented", (file, expected) => {
    const actual = shares(table([file]), get("reviews:9080", "/reviews/0"));
    expect(Object.keys(actual).sort()).toEqual(Object.keys(expected).sort());
    for (const [key, share] of Object.entries(expected)) expect(actual[key]).toBeCloseTo(share, 1);
  });

  it("leaves other services and ports alone: ratings still reaches every version", () => {
    const t = table(["route-reviews-v3.yaml"]);
    expect(where(decideRoute(t, get("ratings:9080"), Math.random))).toBe("ratings@19091,19092");
  });
});
