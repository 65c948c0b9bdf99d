import { parse } from "yaml";
import { z } from "zod";
import type { PathSegment, Reporter } from "./diagnostics.ts";
import { durationProblem } from "./duration.ts";
import { ROOT_NAMESPACE } from "./policy-target.ts";
import { reportZodIssues } from "./zod-issues.ts";

/**
 * Mesh config as Istio users already have it: the `ConfigMap` named `istio` in the root namespace
 * (`istio-system`), whose `data.mesh` is MeshConfig YAML. Jibe reads `extensionProviders` from it
 * (CUSTOM AuthorizationPolicy providers); other MeshConfig fields are accepted and not used.
 *
 * Stored form: the validated ConfigMap keeps its `data` map as the resource `spec` (every Jibe
 * resource has a spec); validating a stored resource accepts that form too.
 */

/** The one ConfigMap Jibe reads: `istio-system/istio`, as istiod does. */
export const MESH_CONFIG_MAP = { namespace: ROOT_NAMESPACE, name: "istio" } as const;

const headerPatterns = z.array(z.string()).optional();

/** Istio `MeshConfig.ExtensionProvider.EnvoyExternalAuthorizationHttpProvider`. */
export const envoyExtAuthzHttpSchema = z.strictObject({
  service: z.string(),
  port: z.number().int(),
  timeout: z.string().optional(),
  pathPrefix: z.string().optional(),
  failOpen: z.boolean().optional(),
  statusOnError: z.string().optional(),
  includeHeadersInCheck: headerPatterns,
  includeRequestHeadersInCheck: headerPatterns,
  includeAdditionalHeadersInCheck: z.record(z.string(), z.string()).optional(),
  includeRequestBodyInCheck: z.unknown().optional(),
  headersToUpstreamOnAllow: headerPatterns,
  headersToDownstreamOnAllow: headerPatterns,
  headersToDownstreamOnDeny: headerPatterns,
});
/** A validated `envoyExtAuthzHttp` provider. */
export type EnvoyExtAuthzHttpSpec = z.infer<typeof envoyExtAuthzHttpSchema>;

/** Istio `MeshConfig.ExtensionProvider.OpenTelemetryTracingProvider` (spans over OTLP/HTTP). */
export const openTelemetryProviderSchema = z.looseObject({
  service: z.string(),
  port: z.number().int().min(1).max(65535),
  http: z.looseObject({ path: z.string().optional() }).optional(),
});

/** One `extensionProviders` entry: a name and one provider type (ext-authz HTTP, OpenTelemetry tracing). */
export const extensionProviderSchema = z.looseObject({
  name: z.string(),
  envoyExtAuthzHttp: envoyExtAuthzHttpSchema.optional(),
  opentelemetry: openTelemetryProviderSchema.optional(),
});
export type ExtensionProviderSpec = z.infer<typeof extensionProviderSchema>;

/** The MeshConfig fields Jibe reads; the rest of MeshConfig passes through unchecked. */
export const meshConfigSchema = z.looseObject({
  extensionProviders: z.array(extensionProviderSchema).optional(),
  // Providers used when a Telemetry resource names none (Istio's `defaultProviders.tracing`).
  defaultProviders: z.looseObject({ tracing: z.array(z.string()).optional() }).optional(),
  // The mesh-wide default of Sidecar `outboundTrafficPolicy` (control/compile/sidecar-scope.ts).
  outboundTrafficPolicy: z
    .strictObject({
      mode: z.enum(["REGISTRY_ONLY", "ALLOW_ANY"]).optional(),
      egressProxy: z.unknown().optional(),
    })
    .optional(),
});
export type MeshConfigSpec = z.infer<typeof meshConfigSchema>;

/**
 * Validates the `data` of ConfigMap `istio-system/istio`: `data.mesh` must be MeshConfig YAML;
 * providers need unique names, a service, a port 1–65535, a valid timeout, a `/` path prefix and
 * an HTTP status for `statusOnError`. Field paths run into the YAML (`data.mesh.extensionProviders[0]...`).
 *
 * @example
 * ```ts
 * checkMeshConfigData({ mesh: "extensionProviders:\n- name: authz\n  envoyExtAuthzHttp: {service: a.b.svc.cluster.local, port: 8000}\n" }, report);
 * ```
 */
export function checkMeshConfigData(data: Readonly<Record<string, string>>, report: Reporter): void {
  if (data.mesh === undefined) return;
  const base: PathSegment[] = ["data", "mesh"];
  const mesh = readMeshYaml(data.mesh);
  if ("problem" in mesh) {
    report.error("JIBE1027", base, mesh.problem);
    return;
  }
  const parsed = meshConfigSchema.safeParse(mesh.value, { reportInput: true });
  if (!parsed.success) {
    reportZodIssues(parsed.error.issues, meshConfigSchema, base, report);
    return;
  }
  const seen = new Set<string>();
  parsed.data.extensionProviders?.forEach((provider, i) => {
    const path = [...base, "extensionProviders", i];
    if (seen.has(provider.name))
      report.error("JIBE1018", [...path, "name"], `extension provider "${provider.name}" is defined twice`);
    seen.add(provider.name);
    if (provider.envoyExtAuthzHttp)
      checkExtAuthzHttp(provider.envoyExtAuthzHttp, [...path, "envoyExtAuthzHttp"], report);
  });
}

function checkExtAuthzHttp(spec: EnvoyExtAuthzHttpSpec, path: PathSegment[], report: Reporter): void {
  if (!/^([a-z0-9-]+\/)?[A-Za-z0-9.-]+$/.test(spec.service))
    report.error(
      "JIBE1027",
      [...path, "service"],
      `service "${spec.service}" must be [<namespace>/]<host>, e.g. "ext-authz.foo.svc.cluster.local"`,
    );
  if (spec.port < 1 || spec.port > 65535)
    report.error("JIBE1027", [...path, "port"], `port ${spec.port} must be between 1 and 65535`);
  if (spec.timeout !== undefined) {
    const problem = durationProblem(spec.timeout);
    if (problem) report.error("JIBE1019", [...path, "timeout"], problem);
  }
  if (spec.pathPrefix !== undefined && !spec.pathPrefix.startsWith("/"))
    report.error(
      "JIBE1027",
      [...path, "pathPrefix"],
      `pathPrefix "${spec.pathPrefix}" must start with "/", e.g. "/check"`,
    );
  if (spec.statusOnError !== undefined && !/^[1-5]\d\d$/.test(spec.statusOnError))
    report.error(
      "JIBE1027",
      [...path, "statusOnError"],
      `statusOnError "${spec.statusOnError}" must be an HTTP status code such as "403" or "503"`,
    );
  if (spec.includeRequestBodyInCheck !== undefined)
    report.warn(
      "JIBE1027",
      [...path, "includeRequestBodyInCheck"],
      "Jibe does not send the request body to the authorizer; the check carries headers only",
    );
  if (spec.includeHeadersInCheck !== undefined)
    report.warn(
      "JIBE1021",
      [...path, "includeHeadersInCheck"],
      "includeHeadersInCheck is deprecated; use includeRequestHeadersInCheck",
    );
  for (const field of [
    "includeHeadersInCheck",
    "includeRequestHeadersInCheck",
    "headersToUpstreamOnAllow",
    "headersToDownstreamOnAllow",
    "headersToDownstreamOnDeny",
  ] as const) {
    spec[field]?.forEach((pattern, i) => {
      if (pattern === "" || pattern === "*")
        report.error(
          "JIBE1027",
          [...path, field, i],
          `header pattern "${pattern}" must be an exact name, a prefix ("x-*") or a suffix ("*-id")`,
        );
    });
  }
}

/**
 * Reads MeshConfig from a ConfigMap's data (`undefined` without `data.mesh`). Call only on data
 * that passed {@link checkMeshConfigData}.
 */
export function readMeshConfig(data: Readonly<Record<string, string>>): MeshConfigSpec | undefined {
  if (data.mesh === undefined) return undefined;
  const mesh = readMeshYaml(data.mesh);
  if ("problem" in mesh) return undefined;
  const parsed = meshConfigSchema.safeParse(mesh.value);
  return parsed.success ? parsed.data : undefined;
}

function readMeshYaml(text: string): { value: unknown } | { problem: string } {
  let value: unknown;
  try {
    value = parse(text) ?? {};
  } catch (error) {
    return { problem: `data.mesh is not valid YAML: ${(error as Error).message.split("\n")[0]}` };
  }
  if (typeof value !== "object" || Array.isArray(value))
    return { problem: "data.mesh must be a MeshConfig mapping, e.g. extensionProviders: [...]" };
  return { value };
}

/** A ConfigMap's `data` (stored as its spec). */
export const configMapDataSchema = z.record(z.string(), z.string());

/**
 * The ConfigMap kind's semantic check: only `istio-system/istio` is accepted (Jibe has no other use
 * for ConfigMaps), and its `data.mesh` must be valid MeshConfig.
 */
export function checkMeshConfigMap(
  data: Readonly<Record<string, string>>,
  report: Reporter,
  metadata?: { name: string; namespace?: string },
): void {
  if (metadata?.namespace !== MESH_CONFIG_MAP.namespace || metadata.name !== MESH_CONFIG_MAP.name) {
    report.error(
      "JIBE1027",
      ["metadata", "name"],
      `Jibe reads only the mesh config ConfigMap ${MESH_CONFIG_MAP.namespace}/${MESH_CONFIG_MAP.name}; apply other ConfigMaps to Kubernetes, not to Jibe`,
    );
    return;
  }
  checkMeshConfigData(data, report);
}
