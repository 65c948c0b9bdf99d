import type { MeshTelemetryDefaults } from "../telemetry/index.ts";
import { SidecarError } from "./errors.ts";
import type { SidecarTelemetryOptions } from "./sidecar-telemetry.ts";

/**
 * Reads a sidecar's mesh-wide telemetry settings from the environment:
 * `JIBE_TRACE_SAMPLING` (percent, default 1, or `defaults.samplingPercentage`),
 * `JIBE_OTLP_ENDPOINT` (OTLP/HTTP traces URL, registered as tracing provider `otel`),
 * `JIBE_ACCESS_LOG` (`1`/`true`/`on` writes JSON access logs to stdout), `JIBE_CLUSTER_ID`.
 *
 * @example
 * ```ts
 * readTelemetryEnv({ JIBE_OTLP_ENDPOINT: "http://127.0.0.1:4318/v1/traces" }, { samplingPercentage: 100 });
 * // { mesh: { samplingPercentage: 100, tracingProvider: "otel" }, tracingProviders: { otel: { otlpHttpEndpoint: "…" } } }
 * ```
 */
export function readTelemetryEnv(
  env: Record<string, string | undefined>,
  defaults: MeshTelemetryDefaults = {},
): SidecarTelemetryOptions {
  const mesh: MeshTelemetryDefaults = { ...defaults };
  const sampling = env.JIBE_TRACE_SAMPLING?.trim();
  if (sampling) {
    const pct = Number(sampling);
    if (!(pct >= 0 && pct <= 100))
      throw new SidecarError(
        "sidecar-config-invalid",
        `JIBE_TRACE_SAMPLING=${sampling} is not a percentage; use a number from 0 to 100`,
        { user: true },
      );
    mesh.samplingPercentage = pct;
  }
  const accessLog = env.JIBE_ACCESS_LOG?.trim().toLowerCase();
  if (accessLog) mesh.accessLog = ["1", "true", "on", "yes"].includes(accessLog);
  const endpoint = env.JIBE_OTLP_ENDPOINT?.trim();
  // `collector:4318` parses as a URL of scheme `collector:`: only http(s) reaches an OTLP/HTTP receiver.
  if (endpoint && !(URL.canParse(endpoint) && /^https?:$/.test(new URL(endpoint).protocol)))
    throw new SidecarError(
      "sidecar-config-invalid",
      `JIBE_OTLP_ENDPOINT=${endpoint} is not an http(s) URL; use e.g. http://127.0.0.1:4318/v1/traces`,
      { user: true },
    );
  if (endpoint) mesh.tracingProvider = "otel";
  const cluster = env.JIBE_CLUSTER_ID?.trim();
  return {
    mesh,
    ...(endpoint ? { tracingProviders: { otel: { otlpHttpEndpoint: endpoint } } } : {}),
    ...(cluster ? { clusterId: cluster } : {}),
  };
}
