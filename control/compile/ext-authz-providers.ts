import { parseDurationMs } from "../model/duration.ts";
import type { EnvoyExtAuthzHttpSpec, MeshConfigSpec } from "../model/mesh-config.ts";
import type { AuthzPolicy, ExtAuthzProvider } from "./authz-snapshot.ts";
import { compileDiagnostic } from "./compile-diagnostics.ts";
import type { Diagnostic } from "./snapshot.ts";

/** Istio's documented default for `envoyExtAuthzHttp.timeout`. */
const DEFAULT_TIMEOUT_MS = 600_000;

/**
 * Resolves the providers the CUSTOM policies name against mesh config `extensionProviders`. A
 * CUSTOM policy whose provider is missing, not `envoyExtAuthzHttp`, or one of several providers
 * on the same workload (Istio allows one) cannot be checked, so, as istiod does, it becomes a DENY
 * of the requests its rules match, with a diagnostic. Returns the policies (changed ones replaced)
 * and the providers in use.
 *
 * @example
 * ```ts
 * const { policies, providers } = resolveExtAuthz(policies, meshConfig, diagnostics);
 * ```
 */
export function resolveExtAuthz(
  policies: readonly AuthzPolicy[],
  mesh: MeshConfigSpec | undefined,
  diagnostics: Diagnostic[],
): { policies: AuthzPolicy[]; providers?: Record<string, ExtAuthzProvider> } {
  const custom = policies.filter((p) => p.action === "CUSTOM" && !p.failClosed);
  if (custom.length === 0) return { policies: [...policies] };
  const names = [...new Set(custom.map((p) => p.provider ?? ""))].sort();
  const providers: Record<string, ExtAuthzProvider> = {};
  const problems = new Map<string, string>();
  for (const name of names) {
    const entry = mesh?.extensionProviders?.find((p) => p.name === name);
    if (names.length > 1)
      problems.set(
        name,
        `CUSTOM policies on one workload must use one provider, found ${names.join(", ")}; use the same provider.name`,
      );
    else if (!entry)
      problems.set(
        name,
        `extension provider "${name}" is not defined in mesh config; add it to data.mesh extensionProviders of ConfigMap istio-system/istio`,
      );
    else if (!entry.envoyExtAuthzHttp)
      problems.set(
        name,
        `extension provider "${name}" is not an envoyExtAuthzHttp provider, the only kind Jibe can call for CUSTOM`,
      );
    else providers[name] = compileProvider(name, entry.envoyExtAuthzHttp);
  }
  const out = policies.map((policy) => {
    const problem = policy.action === "CUSTOM" ? problems.get(policy.provider ?? "") : undefined;
    if (!problem) return policy;
    const reason = `${problem}; until then it denies the requests it matches`;
    diagnostics.push(
      compileDiagnostic("error", "JIBE2031", policy.ref, "spec.provider.name", `${policy.ref}: ${reason}`),
    );
    return { ...policy, action: "DENY" as const, failClosed: reason };
  });
  return Object.keys(providers).length > 0 ? { policies: out, providers } : { policies: out };
}

function compileProvider(name: string, spec: EnvoyExtAuthzHttpSpec): ExtAuthzProvider {
  const lower = (list: string[] | undefined) => (list ?? []).map((h) => h.toLowerCase());
  const additional: Record<string, string> = {};
  for (const [header, value] of Object.entries(spec.includeAdditionalHeadersInCheck ?? {}))
    additional[header.toLowerCase()] = value;
  return {
    name,
    service: spec.service.includes("/") ? spec.service.slice(spec.service.indexOf("/") + 1) : spec.service,
    port: spec.port,
    pathPrefix: spec.pathPrefix ?? "",
    timeoutMs: (spec.timeout === undefined ? undefined : parseDurationMs(spec.timeout)) ?? DEFAULT_TIMEOUT_MS,
    failOpen: spec.failOpen ?? false,
    statusOnError: spec.statusOnError === undefined ? 403 : Number(spec.statusOnError),
    includeRequestHeadersInCheck: lower([
      ...(spec.includeRequestHeadersInCheck ?? []),
      ...(spec.includeHeadersInCheck ?? []),
    ]),
    includeAdditionalHeadersInCheck: additional,
    headersToUpstreamOnAllow: lower(spec.headersToUpstreamOnAllow),
    headersToDownstreamOnAllow: lower(spec.headersToDownstreamOnAllow),
    headersToDownstreamOnDeny: lower(spec.headersToDownstreamOnDeny),
  };
}
