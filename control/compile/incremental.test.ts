import { describe, expect, it } from "vitest";
import type { StoredResource } from "../../broker/events.ts";
import { compile } from "./compile.ts";
import { createIncrementalCompiler } from "./incremental.ts";
import {
  bookinfoMesh,
  destinationRule,
  resourceMap,
  sidecar,
  virtualService,
  workloadEntry,
} from "./test-resources.ts";

const REVIEWS = "reviews.default.svc.cluster.local";
const RATINGS = "ratings.default.svc.cluster.local";

function setup() {
  const built: string[] = [];
  const compiler = createIncrementalCompiler(sidecar(), { onUnitBuilt: (id) => built.push(id) });
  const resources = resourceMap([
    ...bookinfoMesh(),
    destinationRule("reviews", ["v1", "v2", "v3"]),
    destinationRule("ratings", ["v1", "v2"]),
  ]);
  let revision = 0;
  const apply = (changes: { put?: StoredResource[]; del?: string[] }) => {
    built.length = 0;
    const changed = new Set<string>();
    for (const r of changes.put ?? []) {
      const key = `${r.kind}/${r.metadata.namespace}/${r.metadata.name}`;
      resources.set(key, r);
      changed.add(key);
    }
    for (const key of changes.del ?? []) {
      resources.delete(key);
      changed.add(key);
    }
    return compiler.update({ resources: new Map(resources), changed, revision: ++revision });
  };
  return { built, apply, resources, compiler };
}

const reviewsVs = (subset: string) =>
  virtualService("reviews", {
    hosts: ["reviews"],
    http: [{ route: [{ destination: { host: "reviews", subset } }] }],
  });

describe("createIncrementalCompiler", () => {
  it("builds every unit once, then only the host a VirtualService change touches", () => {
    const { built, apply } = setup();
    const first = apply({});
    expect(built).toHaveLength(9); // the outbound catch-all + 4 services × (clusters + virtual host)
    const second = apply({ put: [reviewsVs("v2")] });
    expect(built).toEqual([`vhost|${REVIEWS}`]);
    expect(second.changed).toBe(true);
    const ratingsBefore = first.snapshot.virtualHosts.find((v) => v.name === RATINGS);
    expect(second.snapshot.virtualHosts.find((v) => v.name === RATINGS)).toBe(ratingsBefore);
    expect(second.snapshot.clusters[`outbound|9080|v1|${REVIEWS}`]).toBe(
      first.snapshot.clusters[`outbound|9080|v1|${REVIEWS}`],
    );
  });

  it("rebuilds only the clusters whose endpoints a WorkloadEntry change affects", () => {
    const { built, apply } = setup();
    apply({});
    apply({ put: [workloadEntry("ratings", "v3", 19093)] });
    expect(built).toEqual([`cluster|${RATINGS}`]);
  });

  it("reports no change when content is the same, even with new objects", () => {
    const { built, apply } = setup();
    apply({ put: [reviewsVs("v2")] });
    const again = apply({ put: [reviewsVs("v2")] });
    expect(built).toEqual([]);
    expect(again.changed).toBe(false);
    expect(again.snapshot.revision).toBe(2);
  });

  it("rebuilds the routes that name a subset when its DestinationRule changes", () => {
    const { built, apply } = setup();
    apply({ put: [reviewsVs("v3")] });
    const result = apply({ put: [destinationRule("reviews", ["v1", "v2"])] });
    expect(built.sort()).toEqual([`cluster|${REVIEWS}`, `vhost|${REVIEWS}`]);
    expect(result.diagnostics).toContainEqual(expect.objectContaining({ code: "JIBE2001" }));
  });

  it("falls back to the default routes when a VirtualService is deleted", () => {
    const { apply } = setup();
    apply({ put: [reviewsVs("v2")] });
    const result = apply({ del: ["VirtualService/default/reviews"] });
    expect(result.snapshot.virtualHosts.find((v) => v.name === REVIEWS)?.routes[0]?.origin).toBe(
      "Service/default/reviews#default",
    );
  });

  it("notices a changed resource the caller forgot to list in `changed`", () => {
    const { compiler, resources } = setup();
    compiler.update({ resources, changed: new Set(), revision: 1 });
    const next = new Map(resources).set("VirtualService/default/reviews", reviewsVs("v1"));
    const result = compiler.update({ resources: next, changed: new Set(), revision: 2 });
    expect(result.changed).toBe(true);
    expect(result.snapshot.virtualHosts.find((v) => v.name === REVIEWS)?.routes[0]?.origin).toBe(
      "VirtualService/default/reviews#0",
    );
  });

  it("ends with the same snapshot as a full compile after a series of changes", () => {
    const { apply, resources } = setup();
    apply({});
    apply({ put: [reviewsVs("v2")] });
    apply({ put: [workloadEntry("reviews", "v4", 19084), destinationRule("reviews", ["v1", "v4"])] });
    apply({ del: ["WorkloadEntry/default/reviews-v1"] });
    const last = apply({ put: [reviewsVs("v4")] });
    const full = compile(resources.values(), sidecar(), last.snapshot.revision);
    expect(last.snapshot).toEqual(full.snapshot);
    expect(last.diagnostics).toEqual(full.diagnostics);
  });
});
