import type { StoredResource } from "../../broker/events.ts";
import { MESH_CONFIG_MAP, readMeshConfig } from "../../control/model/mesh-config.ts";

/** Tracing providers of the mesh config: OTLP/HTTP endpoints by provider name, and the default one. */
export interface MeshTracingProviders {
  providers: Record<string, { otlpHttpEndpoint: string }>;
  defaultProvider?: string;
}

/**
 * The `opentelemetry` extension providers of ConfigMap `istio-system/istio` (`data.mesh`), as Istio
 * users declare their trace collector, turned into OTLP/HTTP endpoints
 * (`http://<service>:<port><http.path, default /v1/traces>`), with `defaultProviders.tracing[0]` as
 * the default. Pure; empty without a mesh config.
 *
 * @example
 * ```ts
 * meshTracingProviders(state.resources.values());
 * // { providers: { otel: { otlpHttpEndpoint: "http://otel.observability:4318/v1/traces" } }, defaultProvider: "otel" }
 * ```
 */
export function meshTracingProviders(resources: Iterable<StoredResource>): MeshTracingProviders {
  for (const resource of resources) {
    if (resource.kind !== "ConfigMap") continue;
    const { namespace, name } = resource.metadata;
    if (namespace !== MESH_CONFIG_MAP.namespace || name !== MESH_CONFIG_MAP.name) continue;
    const mesh = readMeshConfig((resource.spec ?? {}) as Record<string, string>);
    const providers: MeshTracingProviders["providers"] = {};
    for (const provider of mesh?.extensionProviders ?? []) {
      const otel = provider.opentelemetry;
      if (!otel) continue;
      const path = otel.http?.path ?? "/v1/traces";
      providers[provider.name] = {
        otlpHttpEndpoint: `http://${otel.service}:${otel.port}${path.startsWith("/") ? path : `/${path}`}`,
      };
    }
    const fallback = mesh?.defaultProviders?.tracing?.[0];
    return { providers, ...(fallback ? { defaultProvider: fallback } : {}) };
  }
  return { providers: {} };
}
