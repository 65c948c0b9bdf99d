import type { StoredResource } from "../../broker/events.ts";
import type { AuthorizationPolicySpec, AuthzRuleSpec } from "../model/authorization-policy.ts";
import { AUTHZ_ACTIONS, isDryRun } from "../model/authorization-policy.ts";
import { parseDurationMs } from "../model/duration.ts";
import { MESH_CONFIG_MAP, type MeshConfigSpec, readMeshConfig } from "../model/mesh-config.ts";
import type { JwtRuleSpec, RequestAuthenticationSpec } from "../model/request-authentication.ts";
import { policyApplies, readRawTargeting, type ServiceSelectorLookup } from "./authz-selection.ts";
import type { AuthzPolicy, AuthzRule, AuthzSnapshot, JwtRule } from "./authz-snapshot.ts";
import { compileDiagnostic } from "./compile-diagnostics.ts";
import { resolveExtAuthz } from "./ext-authz-providers.ts";
import type { Diagnostic, ProxyIdentity } from "./snapshot.ts";

/** A security resource as the compiler holds it: `resource` is set only when it validated. */
export interface CheckedSecurityResource {
  raw: StoredResource;
  resource?: StoredResource;
}

/** The kinds this step compiles. */
export const SECURITY_KINDS: ReadonlySet<string> = new Set(["AuthorizationPolicy", "RequestAuthentication"]);

/**
 * Compiles the AuthorizationPolicies and RequestAuthentications that apply to `proxy` (see
 * {@link policyApplies}) into the snapshot's `authz` section. `undefined` when there is no security
 * resource at all, so a mesh without security policy keeps snapshots as before.
 *
 * A resource that failed validation still counts, failing closed (Istio's intent, made strict):
 * an invalid DENY or CUSTOM policy denies every request, an invalid ALLOW policy allows none (so
 * deny-by-default applies unless another ALLOW policy matches), an invalid AUDIT policy is dropped
 * (AUDIT never decides), an invalid RequestAuthentication refuses every token (401). When its
 * selector cannot be read, it is assumed to apply.
 *
 * @example
 * ```ts
 * const { authz } = compileAuthz(checked, proxy, (ns, name) => services.get(`${ns}/${name}`));
 * ```
 */
export function compileAuthz(
  resources: Iterable<CheckedSecurityResource>,
  proxy: ProxyIdentity,
  services: ServiceSelectorLookup,
): { authz?: AuthzSnapshot; diagnostics: Diagnostic[] } {
  const policies: AuthzPolicy[] = [];
  const jwtRules: JwtRule[] = [];
  const diagnostics: Diagnostic[] = [];
  let any = false;
  let mesh: MeshConfigSpec | undefined;
  for (const checked of resources) {
    const { raw } = checked;
    if (isMeshConfigMap(raw) && checked.resource)
      mesh = readMeshConfig(checked.resource.spec as Record<string, string>);
    if (!SECURITY_KINDS.has(raw.kind)) continue;
    any = true;
    const namespace = raw.metadata?.namespace ?? "default";
    const ref = `${raw.kind}/${namespace}/${raw.metadata?.name}`;
    const targeting = readRawTargeting((checked.resource ?? raw).spec);
    if (targeting && !policyApplies(namespace, targeting, proxy, services)) continue;
    if (raw.kind === "AuthorizationPolicy") {
      const policy = checked.resource
        ? compilePolicy(ref, checked.resource)
        : failClosedPolicy(ref, raw, targeting === undefined);
      if (policy) policies.push(policy);
      if (policy?.failClosed)
        diagnostics.push(compileDiagnostic("error", "JIBE2030", ref, "", `${ref}: ${policy.failClosed}`));
    } else if (checked.resource) {
      const spec = checked.resource.spec as RequestAuthenticationSpec;
      spec.jwtRules?.forEach((rule, i) => {
        jwtRules.push(compileJwtRule(`${ref}#${i}`, rule));
      });
    } else {
      const reason = `${ref} is invalid: every JWT is refused (401) until it is fixed`;
      jwtRules.push({ ref: `${ref}#invalid`, issuer: "", rejectAll: reason });
      diagnostics.push(compileDiagnostic("error", "JIBE2030", ref, "", reason));
    }
  }
  if (!any) return { diagnostics };
  policies.sort((a, b) => compare(a.ref, b.ref));
  jwtRules.sort((a, b) => compare(a.ref, b.ref));
  const resolved = resolveExtAuthz(policies, mesh, diagnostics);
  const authz: AuthzSnapshot = { policies: resolved.policies, jwtRules };
  if (resolved.providers) authz.extAuthz = resolved.providers;
  return { authz, diagnostics };
}

/** True for ConfigMap `istio-system/istio`, the mesh config (CUSTOM providers). */
export function isMeshConfigMap(raw: StoredResource): boolean {
  return (
    raw.kind === "ConfigMap" &&
    raw.metadata?.namespace === MESH_CONFIG_MAP.namespace &&
    raw.metadata?.name === MESH_CONFIG_MAP.name
  );
}

function compilePolicy(ref: string, resource: StoredResource): AuthzPolicy | undefined {
  const spec = resource.spec as AuthorizationPolicySpec;
  const action = spec.action ?? "ALLOW";
  const dryRun = isDryRun(resource.metadata.annotations);
  // Istio supports dry-run for ALLOW and DENY only; a dry-run CUSTOM/AUDIT policy is ignored.
  if (dryRun && (action === "CUSTOM" || action === "AUDIT")) return undefined;
  const policy: AuthzPolicy = { ref, action, rules: (spec.rules ?? []).map(compileRule) };
  if (spec.provider?.name) policy.provider = spec.provider.name;
  if (dryRun) policy.dryRun = true;
  return policy;
}

function compileRule(rule: AuthzRuleSpec): AuthzRule {
  const out: AuthzRule = {};
  if (rule.from) out.from = rule.from.map((f) => ({ ...f.source }));
  if (rule.to) out.to = rule.to.map((t) => ({ ...t.operation }));
  if (rule.when) out.when = rule.when.map((c) => ({ ...c }));
  return out;
}

function failClosedPolicy(ref: string, raw: StoredResource, unknownTarget: boolean): AuthzPolicy | undefined {
  const rawAction = (raw.spec as { action?: unknown } | null)?.action ?? "ALLOW";
  const action = (AUTHZ_ACTIONS as readonly unknown[]).includes(rawAction)
    ? (rawAction as AuthzPolicy["action"])
    : undefined;
  if (action === "AUDIT") return undefined;
  const where = unknownTarget ? " (its selector is unreadable, so it is applied here)" : "";
  const dryRun = isDryRun(raw.metadata?.annotations) && (action === "ALLOW" || action === "DENY");
  const base = dryRun ? { dryRun: true } : {};
  if (action === "ALLOW")
    return {
      ref,
      action,
      rules: [],
      ...base,
      failClosed: `invalid ALLOW policy allows nothing${where}; fix it and apply it again`,
    };
  return {
    ref,
    action: "DENY",
    rules: [{}],
    ...base,
    failClosed: `invalid ${action ?? "policy with an unknown action"} denies every request${where}; fix it and apply it again`,
  };
}

function compileJwtRule(ref: string, rule: JwtRuleSpec): JwtRule {
  const out: JwtRule = { ref, issuer: rule.issuer ?? "" };
  if (rule.audiences?.length) out.audiences = [...rule.audiences];
  if (rule.jwksUri !== undefined) out.jwksUri = rule.jwksUri;
  if (rule.jwks !== undefined) out.jwks = rule.jwks;
  const timeoutMs = rule.timeout === undefined ? undefined : parseDurationMs(rule.timeout);
  if (timeoutMs !== undefined) out.timeoutMs = timeoutMs;
  if (rule.fromHeaders?.length)
    out.fromHeaders = rule.fromHeaders.map((h) => ({
      name: h.name.toLowerCase(),
      ...(h.prefix === undefined ? {} : { prefix: h.prefix }),
    }));
  if (rule.fromParams?.length) out.fromParams = [...rule.fromParams];
  if (rule.fromCookies?.length) out.fromCookies = [...rule.fromCookies];
  if (rule.outputPayloadToHeader) out.outputPayloadToHeader = rule.outputPayloadToHeader.toLowerCase();
  if (rule.outputClaimToHeaders?.length)
    out.outputClaimToHeaders = rule.outputClaimToHeaders.map((o) => ({
      header: o.header.toLowerCase(),
      claim: o.claim,
    }));
  if (rule.forwardOriginalToken) out.forwardOriginalToken = true;
  return out;
}

function compare(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}
