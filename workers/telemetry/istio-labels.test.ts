import { describe, expect, it } from "vitest";
import { resolveDestinationService } from "./destination-service.ts";
import { istioLabels } from "./istio-labels.ts";
import { decodePeerHeader, encodePeerHeader } from "./peer-header.ts";
import type { RequestRecord } from "./request-record.ts";
import { workloadMetadataOf } from "./workload-metadata.ts";

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
  labels: { app: "reviews", version: "v2", "service.istio.io/canonical-name": "reviews-svc" },
});
const known = new Set(["reviews.default.svc.cluster.local", "ratings.prod.svc.cluster.local"]);
const resolve = (authority: string, hostHeaderFallback = true) =>
  resolveDestinationService({
    authority,
    knownServices: known,
    namespace: "default",
    suffix: "cluster.local",
    hostHeaderFallback,
  });

function record(reporter: RequestRecord["reporter"], peerKnown = true): RequestRecord {
  const self = reporter === "source" ? productpage : reviews;
  const peer = reporter === "source" ? reviews : productpage;
  return {
    reporter,
    self,
    ...(peerKnown ? { peer } : {}),
    connectionSecurityPolicy: reporter === "source" ? "unknown" : "none",
    destinationService: resolve("reviews:9080"),
    startMs: 0,
    durationMs: 3,
    method: "GET",
    path: "/reviews/0",
    authority: "reviews:9080",
    scheme: "http",
    requestProtocol: "http",
    requestHeaders: {},
    responseCode: 200,
    responseFlags: "-",
    grpcStatus: "",
    requestBytes: 0,
    responseBytes: 10,
  };
}

describe("Istio labels", () => {
  it("derives workload metadata from labels, canonical-name first", () => {
    expect(reviews).toEqual({
      workload: "reviews-v2",
      namespace: "default",
      app: "reviews",
      version: "v2",
      canonicalService: "reviews-svc",
      canonicalRevision: "v2",
      cluster: "Kubernetes",
    });
  });

  it("round-trips peer metadata and rejects garbage", () => {
    const odd = { ...reviews, app: "a,b=c%d" };
    expect(decodePeerHeader(encodePeerHeader(odd))).toEqual(odd);
    expect(decodePeerHeader("nonsense")).toBeUndefined();
    expect(decodePeerHeader("w=%E0%A4%A,n=x")).toBeUndefined();
    expect(decodePeerHeader("a=only-app")).toBeUndefined();
    expect(decodePeerHeader(`w=x,n=y,z=${"q".repeat(3000)}`)).toBeUndefined();
  });

  it("labels both sides from the reporter's point of view", () => {
    const source = istioLabels(record("source"));
    const destination = istioLabels(record("destination"));
    for (const labels of [source, destination]) {
      expect(labels).toMatchObject({
        source_workload: "productpage-v1",
        source_app: "productpage",
        destination_workload: "reviews-v2",
        destination_canonical_service: "reviews-svc",
        destination_service: "reviews.default.svc.cluster.local",
        destination_service_name: "reviews",
        destination_service_namespace: "default",
        response_code: "200",
        response_flags: "-",
        request_protocol: "http",
      });
    }
    expect(source.reporter).toBe("source");
    expect(source.connection_security_policy).toBe("unknown");
    expect(destination.connection_security_policy).toBe("none");
    expect(istioLabels(record("destination", false)).source_workload).toBe("unknown");
  });

  it("resolves destination services by short name, namespace-qualified name or FQDN; falls back to Host only if allowed", () => {
    expect(resolve("reviews").host).toBe("reviews.default.svc.cluster.local");
    expect(resolve("ratings.prod:9080").name).toBe("ratings");
    expect(resolve("ratings.prod.svc").namespace).toBe("prod");
    expect(resolve("Evil.example.com:80")).toEqual({
      host: "evil.example.com",
      name: "evil.example.com",
      namespace: "unknown",
    });
    expect(resolve("evil.example.com", false)).toEqual({
      host: "unknown",
      name: "unknown",
      namespace: "unknown",
    });
    expect(
      resolveDestinationService({
        routed: "details.default.svc.cluster.local",
        authority: "whatever",
        knownServices: known,
        namespace: "default",
        suffix: "cluster.local",
        hostHeaderFallback: false,
      }).name,
    ).toBe("details");
  });

  it("names traffic passed through to a host outside the registry PassthroughCluster (ALLOW_ANY)", () => {
    const passthrough = (authority: string, hostHeaderFallback: boolean) =>
      resolveDestinationService({
        routed: "PassthroughCluster",
        authority,
        knownServices: known,
        namespace: "default",
        suffix: "cluster.local",
        hostHeaderFallback,
      });
    expect(passthrough("api.example.org:8080", true)).toEqual({
      host: "api.example.org",
      name: "PassthroughCluster",
      namespace: "unknown",
    });
    expect(passthrough("api.example.org:8080", false)).toEqual({
      host: "unknown",
      name: "PassthroughCluster",
      namespace: "unknown",
    });
  });
});
