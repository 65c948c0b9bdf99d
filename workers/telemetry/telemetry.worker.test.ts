import { describe, expect, it } from "vitest";
import {
  continueTrace,
  readTraceHeaders,
  resolveTelemetryPolicy,
  traceHeaders,
  workloadMetadataOf,
} from "./index.ts";

// The pure telemetry code inside workerd (the edge worker's runtime), where it will run next.
describe("telemetry engine in workerd", () => {
  it("continues a trace and resolves a Telemetry policy", () => {
    const randomHex = (bytes: number) =>
      [...crypto.getRandomValues(new Uint8Array(bytes))].map((b) => b.toString(16).padStart(2, "0")).join("");
    const hop = continueTrace(
      readTraceHeaders({ traceparent: "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01" }),
      { samplingPercentage: 1, randomHex },
    );
    expect(traceHeaders(hop)["x-b3-parentspanid"]).toBe("00f067aa0ba902b7");
    const edge = {
      id: "edge~local",
      role: "gateway" as const,
      namespace: "default",
      labels: { app: "edge" },
    };
    expect(workloadMetadataOf(edge).workload).toBe("edge~local");
    const policy = resolveTelemetryPolicy(
      [
        {
          apiVersion: "telemetry.istio.io/v1",
          kind: "Telemetry",
          metadata: { name: "mesh", namespace: "istio-system" },
          spec: { tracing: [{ randomSamplingPercentage: 42 }] },
        },
      ],
      edge,
    );
    expect(policy.tracing.source.samplingPercentage).toBe(42);
  });
});
