import type { PolicyTargeting, PolicyTargetRef } from "../model/policy-target.ts";
import { ROOT_NAMESPACE } from "../model/policy-target.ts";
import type { ProxyIdentity } from "./snapshot.ts";

/** Looks up a Service's pod selector (`undefined` when there is no such Service). */
export type ServiceSelectorLookup = (namespace: string, name: string) => Record<string, string> | undefined;

/**
 * Whether a security policy in `namespace` applies to `proxy`, with Istio's semantics:
 * - `targetRef(s)`: only the targets. A Gateway applies to gateway proxies implementing
 *   `<namespace>/<name>`; a GatewayClass (root namespace) to every gateway proxy; a Service to the
 *   sidecars its selector picks (Istio applies that only at waypoints; Jibe has none, so the
 *   service's own workloads enforce it rather than silently ignoring it); ServiceEntry never.
 * - otherwise the root namespace means every namespace, another namespace only itself, and a
 *   non-empty `selector.matchLabels` narrows to workloads carrying those labels.
 *
 * @example
 * ```ts
 * policyApplies("istio-system", {}, proxy, lookup); // true: mesh-wide
 * policyApplies("foo", { selector: { matchLabels: { app: "httpbin" } } }, proxy, lookup);
 * ```
 */
export function policyApplies(
  namespace: string,
  targeting: PolicyTargeting,
  proxy: ProxyIdentity,
  services: ServiceSelectorLookup,
): boolean {
  const refs = [...(targeting.targetRef ? [targeting.targetRef] : []), ...(targeting.targetRefs ?? [])];
  if (refs.length > 0) return refs.some((ref) => targetMatches(namespace, ref, proxy, services));
  if (namespace !== ROOT_NAMESPACE && namespace !== proxy.namespace) return false;
  return labelsInclude(proxy.labels, targeting.selector?.matchLabels);
}

function targetMatches(
  namespace: string,
  ref: PolicyTargetRef,
  proxy: ProxyIdentity,
  services: ServiceSelectorLookup,
): boolean {
  switch (ref.kind) {
    case "Gateway":
      return proxy.role === "gateway" && (proxy.gateways ?? []).includes(`${namespace}/${ref.name}`);
    case "GatewayClass":
      return proxy.role === "gateway";
    case "Service": {
      if (proxy.role !== "sidecar" || proxy.namespace !== namespace) return false;
      const selector = services(namespace, ref.name);
      return (
        selector !== undefined && Object.keys(selector).length > 0 && labelsInclude(proxy.labels, selector)
      );
    }
    default:
      return false;
  }
}

function labelsInclude(labels: Readonly<Record<string, string>>, wanted?: Readonly<Record<string, string>>) {
  for (const [key, value] of Object.entries(wanted ?? {})) if (labels[key] !== value) return false;
  return true;
}

/**
 * Reads the targeting of a policy that failed validation, as far as it can be trusted. `undefined`
 * means it cannot be read, and the caller must assume the policy applies (fail closed).
 */
export function readRawTargeting(spec: unknown): PolicyTargeting | undefined {
  if (typeof spec !== "object" || spec === null) return undefined;
  const raw = spec as Record<string, unknown>;
  const out: PolicyTargeting = {};
  if (raw.selector !== undefined) {
    const labels = (raw.selector as { matchLabels?: unknown } | null)?.matchLabels;
    if (labels !== undefined && !isStringMap(labels)) return undefined;
    out.selector = labels === undefined ? {} : { matchLabels: labels as Record<string, string> };
  }
  const refs = [raw.targetRef, ...(Array.isArray(raw.targetRefs) ? raw.targetRefs : [])].filter(
    (r) => r !== undefined,
  );
  if (raw.targetRefs !== undefined && !Array.isArray(raw.targetRefs)) return undefined;
  for (const ref of refs) {
    const r = ref as Record<string, unknown> | null;
    if (typeof r?.kind !== "string" || typeof r.name !== "string") return undefined;
    out.targetRefs = [...(out.targetRefs ?? []), { kind: r.kind, name: r.name }];
  }
  if (out.selector && out.targetRefs) return undefined;
  return out;
}

function isStringMap(value: unknown): boolean {
  return (
    typeof value === "object" &&
    value !== null &&
    !Array.isArray(value) &&
    Object.values(value).every((v) => typeof v === "string")
  );
}
