import { describe, expect, it } from "vitest";
import { readTelemetryEnv } from "./telemetry-env.ts";

describe("telemetry environment", () => {
  it("reads sampling, OTLP endpoint, access log and cluster id over the given defaults", () => {
    expect(
      readTelemetryEnv(
        {
          JIBE_TRACE_SAMPLING: "25",
          JIBE_OTLP_ENDPOINT: "http://127.0.0.1:4318/v1/traces",
          JIBE_ACCESS_LOG: "on",
          JIBE_CLUSTER_ID: "east",
        },
        { samplingPercentage: 100 },
      ),
    ).toEqual({
      mesh: { samplingPercentage: 25, accessLog: true, tracingProvider: "otel" },
      tracingProviders: { otel: { otlpHttpEndpoint: "http://127.0.0.1:4318/v1/traces" } },
      clusterId: "east",
    });
    expect(readTelemetryEnv({}, { samplingPercentage: 100 })).toEqual({ mesh: { samplingPercentage: 100 } });
  });

  it("names the variable and the fix when a value is wrong", () => {
    expect(() => readTelemetryEnv({ JIBE_TRACE_SAMPLING: "150" })).toThrow(
      /JIBE_TRACE_SAMPLING=150 .* 0 to 100/,
    );
    for (const endpoint of ["nope", "collector:4318", "ftp://collector/v1/traces", "unix:/run/otel.sock"])
      expect(() => readTelemetryEnv({ JIBE_OTLP_ENDPOINT: endpoint })).toThrow(
        `JIBE_OTLP_ENDPOINT=${endpoint} is not an http(s) URL; use e.g. http://127.0.0.1:4318/v1/traces`,
      );
    expect(
      readTelemetryEnv({ JIBE_OTLP_ENDPOINT: "https://otel.example:4318/v1/traces" }).tracingProviders,
    ).toEqual({
      otel: { otlpHttpEndpoint: "https://otel.example:4318/v1/traces" },
    });
  });
});
