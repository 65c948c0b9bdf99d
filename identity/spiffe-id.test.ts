import { describe, expect, it } from "vitest";
import { formatSpiffeId, parseWorkloadId } from "./spiffe-id.ts";

describe("SPIFFE IDs", () => {
  it("round-trips a workload identity", () => {
    const id = { trustDomain: "cluster.local", namespace: "default", serviceAccount: "bookinfo-reviews" };
    expect(parseWorkloadId(formatSpiffeId(id))).toEqual({ ok: true, id });
  });

  it.each([
    ["spiffe://Cluster.local/ns/a/sa/b", "upper-case trust domain"],
    ["spiffe://cluster.local:8443/ns/a/sa/b", "port"],
    ["spiffe://cluster.local/ns/a/sa/b/extra", "extra segments"],
    ["spiffe://cluster.local/ns/../sa/b", "dot-dot segment"],
    ["spiffe://cluster.local/ns//sa/b", "empty segment"],
    ["spiffe://cluster.local/ns/a/sa/b?x=1", "query"],
    ["https://cluster.local/ns/a/sa/b", "scheme"],
    ["spiffe://cluster.local", "no path"],
  ])("refuses %s (%s)", (uri) => {
    expect(parseWorkloadId(uri)).toMatchObject({ ok: false, code: "spiffe-id-invalid" });
  });
});
