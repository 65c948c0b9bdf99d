import { describe, expect, it } from "vitest";
import { readEdgeTelemetryVars } from "./telemetry-push.ts";

describe("edge telemetry vars", () => {
  it("reads sampling, OTLP endpoint, cluster id and flush period", () => {
    expect(
      readEdgeTelemetryVars({
        JIBE_TRACE_SAMPLING: "100",
        JIBE_OTLP_ENDPOINT: "http://127.0.0.1:4318/v1/traces",
        JIBE_CLUSTER_ID: "edge-eu",
        JIBE_TELEMETRY_FLUSH_MS: "250",
      }),
    ).toEqual({
      mesh: { samplingPercentage: 100 },
      otlpEndpoint: "http://127.0.0.1:4318/v1/traces",
      clusterId: "edge-eu",
      flushMs: 250,
      problems: [],
    });
    expect(readEdgeTelemetryVars({})).toEqual({ mesh: {}, flushMs: 1000, problems: [] });
  });

  it("names each bad var and how to fix it, and falls back to the defaults (telemetry never blocks traffic)", () => {
    const config = readEdgeTelemetryVars({
      JIBE_TRACE_SAMPLING: "all",
      JIBE_OTLP_ENDPOINT: "collector:4318",
      JIBE_TELEMETRY_FLUSH_MS: "0",
    });
    expect(config.mesh).toEqual({});
    expect(config.otlpEndpoint).toBeUndefined();
    expect(config.flushMs).toBe(1000);
    expect(config.problems).toEqual([
      'JIBE_TRACE_SAMPLING: "all" is not a percentage; use a number from 0 to 100',
      'JIBE_OTLP_ENDPOINT: "collector:4318" is not an http(s) URL; use e.g. http://127.0.0.1:4318/v1/traces',
      'JIBE_TELEMETRY_FLUSH_MS: "0" must be milliseconds >= 10',
    ]);
  });
});
