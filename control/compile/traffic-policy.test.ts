import { describe, expect, it } from "vitest";
import { validateResource } from "../model/validate.ts";
import { compile } from "./compile.ts";
import { destinationRule, service, sidecar, workloadEntry } from "./test-resources.ts";
import { compileClusterPolicy } from "./traffic-policy.ts";

const REVIEWS = "reviews.default.svc.cluster.local";
const dr = (trafficPolicy: unknown) => ({
  apiVersion: "networking.istio.io/v1",
  kind: "DestinationRule",
  metadata: { name: "reviews" },
  spec: { host: "reviews", trafficPolicy },
});
const errors = (doc: unknown) => validateResource(doc).diagnostics.filter((d) => d.severity === "error");

describe("DestinationRule trafficPolicy validation", () => {
  it("requires exactly one consistentHash key and a valid cookie ttl (0s = session cookie)", () => {
    expect(
      errors(dr({ loadBalancer: { consistentHash: { httpHeaderName: "x", useSourceIp: true } } }))[0],
    ).toMatchObject({
      code: "JIBE1013",
      path: "spec.trafficPolicy.loadBalancer.consistentHash",
    });
    expect(
      errors(dr({ loadBalancer: { consistentHash: { httpCookie: { name: "c", ttl: "ten" } } } }))[0],
    ).toMatchObject({
      path: "spec.trafficPolicy.loadBalancer.consistentHash.httpCookie.ttl",
    });
    expect(
      errors(dr({ loadBalancer: { consistentHash: { httpCookie: { name: "c", ttl: "0s" } } } })),
    ).toEqual([]);
    expect(errors(dr({ loadBalancer: { consistentHash: { httpHeader: "x" } } }))).not.toEqual([]);
  });
});

describe("DestinationRule trafficPolicy compile", () => {
  const compileWith = (trafficPolicy: unknown) =>
    compile(
      [
        service("reviews"),
        workloadEntry("reviews", "v1", 1),
        destinationRule("reviews", [], { trafficPolicy }),
      ],
      sidecar(),
    );

  it("enforces consistentHash, connectionPool and outlierDetection (no 'not enforced' warning)", () => {
    const { snapshot, diagnostics } = compileWith({
      loadBalancer: {
        consistentHash: { httpQueryParameterName: "tenant", ringHash: { minimumRingSize: 64 } },
      },
      connectionPool: {
        tcp: { maxConnections: 10, connectTimeout: "250ms" },
        http: {
          http1MaxPendingRequests: 5,
          http2MaxRequests: 20,
          maxRequestsPerConnection: 3,
          idleTimeout: "30s",
        },
      },
      outlierDetection: { consecutive5xxErrors: 7, interval: "5s", baseEjectionTime: "1m" },
    });
    expect(diagnostics.filter((d) => d.code === "JIBE2008")).toEqual([]);
    expect(snapshot.clusters[`outbound|9080||${REVIEWS}`]).toMatchObject({
      consistentHash: { key: { kind: "queryParameter", name: "tenant" }, minimumRingSize: 64 },
      connectionPool: {
        maxConnections: 10,
        connectTimeoutMs: 250,
        http1MaxPendingRequests: 5,
        http2MaxRequests: 20,
        maxRequestsPerConnection: 3,
        idleTimeoutMs: 30_000,
      },
      outlierDetection: {
        consecutive5xxErrors: 7,
        consecutiveGatewayErrors: 0,
        intervalMs: 5_000,
        baseEjectionTimeMs: 60_000,
        maxEjectionPercent: 10,
      },
    });
  });

  it("fills Istio's outlier defaults and warns about what stays unenforced", () => {
    expect(compileClusterPolicy({ outlierDetection: {} }).outlierDetection).toEqual({
      consecutive5xxErrors: 5,
      consecutiveGatewayErrors: 0,
      intervalMs: 10_000,
      baseEjectionTimeMs: 30_000,
      maxEjectionPercent: 10,
    });
    const { diagnostics } = compileWith({
      loadBalancer: { consistentHash: { useSourceIp: true, maglev: { tableSize: 65537 } } },
      outlierDetection: { minHealthPercent: 50 },
    });
    expect(diagnostics.filter((d) => d.code === "JIBE2008").map((d) => d.path)).toEqual([
      "spec.trafficPolicy.loadBalancer.consistentHash.maglev",
      "spec.trafficPolicy.outlierDetection.minHealthPercent",
    ]);
  });
});
