import { describe, expect, it } from "vitest";
import type { StoredResource } from "../../broker/events.ts";
import type { ProxyIdentity } from "../../control/compile/snapshot.ts";
import { metricLabels, planMetrics } from "./metric-plan.ts";
import { ENVOY_DEFAULT_BUCKETS, resolveTelemetryPolicy } from "./telemetry-policy.ts";

const reviews: ProxyIdentity = {
  id: "sidecar~reviews-v1~default",
  role: "sidecar",
  namespace: "default",
  labels: { app: "reviews", version: "v1" },
};

function telemetry(name: string, namespace: string, spec: object, created = ""): StoredResource {
  return {
    apiVersion: "telemetry.istio.io/v1",
    kind: "Telemetry",
    metadata: { name, namespace, ...(created ? { creationTimestamp: created } : {}) },
    spec,
  };
}

const sampling = (pct: number) => ({ tracing: [{ randomSamplingPercentage: pct }] });
const noAttributes = { attribute: () => undefined, header: () => undefined };

describe("telemetry precedence", () => {
  it("uses mesh defaults when no Telemetry applies: 1% sampling, Envoy buckets, host fallback on", () => {
    const policy = resolveTelemetryPolicy([], reviews);
    expect(policy.tracing.source.samplingPercentage).toBe(1);
    expect(policy.metrics.buckets.REQUEST_DURATION).toEqual(ENVOY_DEFAULT_BUCKETS);
    expect(policy.metrics.hostHeaderFallback).toBe(true);
    expect(policy.metrics.expiryMs).toBeUndefined();
    expect(policy.accessLogging.source.enabled).toBe(false);
    expect(
      resolveTelemetryPolicy([], reviews, { samplingPercentage: 100 }).tracing.source.samplingPercentage,
    ).toBe(100);
  });

  it("workload beats namespace beats root; other namespaces and selectors do not apply", () => {
    const root = telemetry("mesh", "istio-system", { ...sampling(5), metrics: [{ metricExpiry: "10m" }] });
    const ns = telemetry("ns", "default", sampling(20));
    const workload = telemetry("w", "default", {
      selector: { matchLabels: { app: "reviews" } },
      ...sampling(50),
    });
    const other = telemetry("other", "default", {
      selector: { matchLabels: { app: "ratings" } },
      ...sampling(99),
    });
    const elsewhere = telemetry("x", "prod", sampling(77));
    const resolve = (...rs: StoredResource[]) => resolveTelemetryPolicy(rs, reviews);
    expect(resolve(root).tracing.destination.samplingPercentage).toBe(5);
    expect(resolve(root, ns).tracing.destination.samplingPercentage).toBe(20);
    const all = resolve(elsewhere, other, workload, ns, root);
    expect(all.tracing.destination.samplingPercentage).toBe(50);
    expect(all.metrics.expiryMs).toBe(600_000); // fields a higher level leaves unset come from below
    expect(all.sources).toEqual([
      "Telemetry/istio-system/mesh",
      "Telemetry/default/ns",
      "Telemetry/default/w",
    ]);
  });

  it("picks the oldest of two resources at one level, and skips invalid ones", () => {
    const newer = telemetry("a", "default", sampling(30), "2026-02-01T00:00:00Z");
    const older = telemetry("b", "default", sampling(40), "2026-01-01T00:00:00Z");
    expect(resolveTelemetryPolicy([newer, older], reviews).tracing.source.samplingPercentage).toBe(40);
    const invalid = telemetry("c", "default", sampling(400), "2025-01-01T00:00:00Z");
    expect(resolveTelemetryPolicy([invalid, newer], reviews).tracing.source.samplingPercentage).toBe(30);
  });

  it("applies tracing and access logging per mode", () => {
    const policy = resolveTelemetryPolicy(
      [
        telemetry("t", "default", {
          tracing: [{ match: { mode: "CLIENT" }, randomSamplingPercentage: 0 }],
          accessLogging: [{ match: { mode: "SERVER" }, filter: { expression: "response.code >= 500" } }],
        }),
      ],
      reviews,
    );
    expect(policy.tracing.source.samplingPercentage).toBe(0);
    expect(policy.tracing.destination.samplingPercentage).toBe(1);
    expect(policy.accessLogging.destination.enabled).toBe(true);
    expect(policy.accessLogging.destination.filter).toBeDefined();
    expect(policy.accessLogging.source.enabled).toBe(false);
  });

  it("plans metrics: tag removal and upsert per mode, disabled metrics, custom buckets", () => {
    const policy = resolveTelemetryPolicy(
      [
        telemetry("t", "default", {
          metrics: [
            {
              overrides: [
                {
                  match: { metric: "ALL_METRICS" },
                  tagOverrides: { request_protocol: { operation: "REMOVE" } },
                },
                {
                  match: { metric: "REQUEST_COUNT", mode: "SERVER" },
                  tagOverrides: { tenant: { value: "'acme'" }, source_app: { value: "'rewritten'" } },
                },
                { match: { metric: "REQUEST_SIZE", mode: "CLIENT" }, disabled: true },
              ],
              histogramBuckets: { REQUEST_DURATION: [1, 10, 100] },
            },
          ],
        }),
      ],
      reviews,
    );
    const plans = planMetrics(policy);
    expect(plans.REQUEST_DURATION.buckets).toEqual([1, 10, 100]);
    expect(plans.RESPONSE_SIZE.buckets).toEqual(ENVOY_DEFAULT_BUCKETS);
    expect(plans.REQUEST_SIZE.reporters.source.enabled).toBe(false);
    expect(plans.REQUEST_SIZE.reporters.destination.enabled).toBe(true);
    expect(plans.REQUEST_COUNT.labelNames).toContain("tenant");
    expect(plans.REQUEST_DURATION.labelNames).not.toContain("tenant");
    const base = { request_protocol: "http", source_app: "productpage", reporter: "destination" };
    expect(metricLabels(plans.REQUEST_COUNT, "destination", base, noAttributes)).toEqual({
      source_app: "rewritten",
      reporter: "destination",
      tenant: "acme",
    });
    expect(metricLabels(plans.REQUEST_COUNT, "source", base, noAttributes)).toEqual({
      source_app: "productpage",
      reporter: "destination",
    });
  });
});
