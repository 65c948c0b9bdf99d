import { describe, expect, it } from "vitest";
import { deriveWorkloadEntries, type EndpointSliceLike, type PodLike } from "./workload-entries.ts";

const pods: Record<string, PodLike> = {
  "default/reviews-v1-0": {
    metadata: { name: "reviews-v1-0", namespace: "default", labels: { app: "reviews", version: "v1" } },
    spec: { serviceAccountName: "bookinfo-reviews" },
  },
  "default/reviews-v2-0": {
    metadata: { name: "reviews-v2-0", namespace: "default", labels: { app: "reviews" } },
  },
};
const podOf = (ns: string, name: string) => pods[`${ns}/${name}`];

function slice(
  name: string,
  addressType: string,
  endpoints: EndpointSliceLike["endpoints"],
  ports: EndpointSliceLike["ports"],
): EndpointSliceLike {
  return { metadata: { name, namespace: "default" }, addressType, endpoints, ports };
}
const pod = (name: string) => ({ kind: "Pod", name, namespace: "default" });

describe("deriveWorkloadEntries", () => {
  it("makes one entry per ready Pod, with the union of its Services' ports and IPv4 first", () => {
    const entries = deriveWorkloadEntries(
      [
        slice(
          "reviews-v6",
          "IPv6",
          [{ addresses: ["fd00::7"], targetRef: pod("reviews-v1-0") }],
          [{ name: "http", port: 9080 }],
        ),
        slice(
          "reviews-a",
          "IPv4",
          [{ addresses: ["10.0.0.7"], conditions: { ready: true }, targetRef: pod("reviews-v1-0") }],
          [{ name: "http", port: 9080 }],
        ),
        slice(
          "metrics-a",
          "IPv4",
          [{ addresses: ["10.0.0.7"], targetRef: pod("reviews-v1-0") }],
          [
            { name: "metrics", port: 15020 },
            { name: "", port: 1 },
          ],
        ),
      ],
      podOf,
      "east",
    );
    expect(entries).toEqual([
      {
        apiVersion: "networking.istio.io/v1",
        kind: "WorkloadEntry",
        metadata: {
          name: "reviews-v1-0.east",
          namespace: "default",
          annotations: { "jibe.dev/cluster": "east", "jibe.dev/pod": "reviews-v1-0" },
        },
        spec: {
          address: "10.0.0.7",
          labels: { app: "reviews", version: "v1", "topology.istio.io/cluster": "east" },
          ports: { http: 9080, metrics: 15020 },
          serviceAccount: "bookinfo-reviews",
        },
      },
    ]);
  });

  it("leaves out endpoints not ready, not Pods, Pods not known yet and FQDN slices", () => {
    const entries = deriveWorkloadEntries(
      [
        slice(
          "a",
          "IPv4",
          [
            { addresses: ["10.0.0.8"], conditions: { ready: false }, targetRef: pod("reviews-v2-0") },
            { addresses: ["10.0.0.9"], targetRef: { kind: "Node", name: "n1" } },
            { addresses: ["10.0.0.10"], targetRef: pod("gone-0") },
            { addresses: ["10.0.0.11"] },
          ],
          [],
        ),
        slice("b", "FQDN", [{ addresses: ["db.example.com"], targetRef: pod("reviews-v2-0") }], []),
      ],
      podOf,
      "east",
    );
    expect(entries).toEqual([]);
  });
});
