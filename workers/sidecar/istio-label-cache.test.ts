import { describe, expect, it } from "vitest";
import { istioLabels, type RequestRecord, workloadMetadataOf } from "../telemetry/index.ts";
import { createIstioLabelCache } from "./istio-label-cache.ts";

const productpage = workloadMetadataOf({
  id: "sidecar~productpage-v1~default",
  role: "sidecar",
  namespace: "default",
  labels: { app: "productpage", version: "v1" },
});
const reviews = workloadMetadataOf({
  id: "sidecar~reviews-v2~default",
  role: "sidecar",
  namespace: "default",
  labels: { app: "reviews", version: "v2" },
});

function record(changes: Partial<RequestRecord> = {}): RequestRecord {
  return {
    reporter: "source",
    self: productpage,
    peer: reviews,
    connectionSecurityPolicy: "unknown",
    destinationService: { host: "reviews.default.svc.cluster.local", name: "reviews", namespace: "default" },
    startMs: 0,
    durationMs: 3,
    method: "GET",
    path: "/",
    authority: "reviews:9080",
    scheme: "http",
    requestProtocol: "http",
    requestHeaders: {},
    responseCode: 200,
    responseFlags: "-",
    grpcStatus: "",
    requestBytes: 0,
    responseBytes: 10,
    ...changes,
  };
}

describe("Istio labels shared by alike requests", () => {
  it("gives the labels istioLabels gives, one object for requests that differ only outside the labels", () => {
    const labelsOf = createIstioLabelCache();
    const first = labelsOf(record());
    expect(first).toEqual(istioLabels(record()));
    expect(labelsOf(record({ durationMs: 9, path: "/other", requestBytes: 5 }))).toBe(first);
  });

  it("tells apart requests that differ in any label: code, flags, peer, principal, service, reporter", () => {
    const labelsOf = createIstioLabelCache();
    const variants: RequestRecord[] = [
      record(),
      record({ responseCode: 503 }),
      record({ responseFlags: "UF,URX" }),
      record({ peer: productpage }),
      record({ peer: undefined }),
      record({ peerPrincipal: "spiffe://cluster.local/ns/default/sa/reviews" }),
      record({
        destinationService: {
          host: "ratings.default.svc.cluster.local",
          name: "ratings",
          namespace: "default",
        },
      }),
      record({ reporter: "destination", self: reviews, peer: productpage, connectionSecurityPolicy: "none" }),
      record({ requestProtocol: "grpc", grpcStatus: "14" }),
    ];
    for (const variant of variants) expect(labelsOf(variant)).toEqual(istioLabels(variant));
    expect(new Set(variants.map(labelsOf)).size).toBe(variants.length);
  });

  it("stays correct once more label sets were seen than it keeps", () => {
    const labelsOf = createIstioLabelCache();
    for (let code = 0; code < 5_000; code++) {
      const variant = record({ responseCode: code });
      expect(labelsOf(variant).response_code).toBe(String(code));
    }
  });
});
