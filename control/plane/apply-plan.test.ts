import { describe, expect, it } from "vitest";
import type { StoredResource } from "../../broker/events.ts";
import { canonicalJson, planApply } from "./apply-plan.ts";

const t0 = new Date("2025-01-01T00:00:00.000Z");
const t1 = new Date("2025-01-02T00:00:00.000Z");

function vs(spec: object, labels?: Record<string, string>): StoredResource {
  return {
    apiVersion: "networking.istio.io/v1",
    kind: "VirtualService",
    metadata: { name: "reviews", namespace: "default", ...(labels ? { labels } : {}) },
    spec,
  };
}

describe("planApply", () => {
  it("creates at generation 1 with the first apply's time, ignoring what the user sent", () => {
    const sent = vs({ hosts: ["reviews"] });
    sent.metadata.generation = 99;
    sent.metadata.creationTimestamp = "1999-01-01T00:00:00Z";
    const plan = planApply(sent, undefined, t0);
    expect(plan.action).toBe("created");
    expect(plan.resource.metadata).toMatchObject({ generation: 1, creationTimestamp: t0.toISOString() });
  });

  it("reports identical content as unchanged, whatever the key order", () => {
    const stored = planApply(vs({ hosts: ["reviews"], http: [{ timeout: "1s" }] }), undefined, t0).resource;
    const again = vs({ http: [{ timeout: "1s" }], hosts: ["reviews"] });
    expect(planApply(again, { revision: 3, resource: stored }, t1).action).toBe("unchanged");
  });

  it("bumps the generation on a spec change and keeps the creation time", () => {
    const stored = planApply(vs({ hosts: ["reviews"] }), undefined, t0).resource;
    const plan = planApply(vs({ hosts: ["reviews", "ratings"] }), { revision: 3, resource: stored }, t1);
    expect(plan.action).toBe("configured");
    expect(plan.resource.metadata).toMatchObject({ generation: 2, creationTimestamp: t0.toISOString() });
  });

  it("configures a label change without a new generation (Kubernetes semantics)", () => {
    const stored = planApply(vs({ hosts: ["reviews"] }), undefined, t0).resource;
    const plan = planApply(
      vs({ hosts: ["reviews"] }, { team: "books" }),
      { revision: 3, resource: stored },
      t1,
    );
    expect(plan.action).toBe("configured");
    expect(plan.resource.metadata.generation).toBe(1);
  });

  it("rewrites a stored value it cannot trust instead of calling it unchanged", () => {
    const plan = planApply(vs({ hosts: ["reviews"] }), { revision: 3, resource: undefined }, t1);
    expect(plan.action).toBe("configured");
    expect(plan.resource.metadata.generation).toBe(1);
  });
});

describe("canonicalJson", () => {
  it("is independent of key order at every depth, not of array order", () => {
    expect(canonicalJson({ a: 1, b: { d: [1, 2], c: 2 } })).toBe(
      canonicalJson({ b: { c: 2, d: [1, 2] }, a: 1 }),
    );
    expect(canonicalJson([1, 2])).not.toBe(canonicalJson([2, 1]));
  });
});
