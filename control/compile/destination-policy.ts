import type { TrafficPolicy } from "../model/destination-rule.ts";
import { ROOT_NAMESPACE } from "../model/policy-target.ts";
import { compileDiagnostic } from "./compile-diagnostics.ts";
import { hostMatches } from "./host-names.ts";
import type { IndexedDestinationRule, ResourceIndex } from "./resource-index.ts";
import type { Diagnostic, ProxyIdentity } from "./snapshot.ts";

/** The mesh root namespace (one constant for every kind): its DestinationRules apply mesh-wide as a fallback. */
export { ROOT_NAMESPACE };

/** The DestinationRule view of one host after Istio's selection and merge rules. */
export interface DestinationPolicy {
  subsets: Map<string, { labels: Record<string, string>; trafficPolicy?: TrafficPolicy }>;
  trafficPolicy?: TrafficPolicy;
  /** The rules that contributed, oldest first. */
  rules: IndexedDestinationRule[];
}

/**
 * Selects the DestinationRules for `host` as Istio does: exact host before the most specific
 * wildcard; rules with a `workloadSelector` only for the workloads they select; namespace
 * precedence proxy → service → root (istio-system) → others. Rules of the chosen namespace are
 * merged oldest first: a subset defined twice keeps the oldest definition (warning), the
 * top-level trafficPolicy is the oldest one set.
 *
 * @example
 * ```ts
 * const policy = selectDestinationPolicy(index, "reviews.default.svc.cluster.local", "default", proxy);
 * policy?.subsets.has("v2");
 * ```
 */
export function selectDestinationPolicy(
  index: ResourceIndex,
  host: string,
  serviceNamespace: string,
  proxy: ProxyIdentity,
  diagnostics?: Diagnostic[],
): DestinationPolicy | undefined {
  return mergeDestinationRules(
    selectDestinationRules(index, host, serviceNamespace, proxy),
    host,
    diagnostics,
  );
}

/** The DestinationRules that apply to `host` for this proxy, oldest first (see {@link selectDestinationPolicy}). */
export function selectDestinationRules(
  index: ResourceIndex,
  host: string,
  serviceNamespace: string,
  proxy: ProxyIdentity,
): IndexedDestinationRule[] {
  const applies = (rule: IndexedDestinationRule) => {
    const selector = rule.spec.workloadSelector?.matchLabels;
    if (!selector || Object.keys(selector).length === 0) return true;
    return (
      rule.namespace === proxy.namespace && Object.entries(selector).every(([k, v]) => proxy.labels[k] === v)
    );
  };
  let candidates = (index.destinationRules.get(host) ?? []).filter(applies);
  if (candidates.length === 0) {
    const wildcards = index.wildcardDestinationRules.filter((r) => applies(r) && hostMatches(r.host, host));
    const longest = Math.max(-1, ...wildcards.map((r) => r.host.length));
    candidates = wildcards.filter((r) => r.host.length === longest);
  }
  const preferred = [proxy.namespace, serviceNamespace, ROOT_NAMESPACE].find((ns) =>
    candidates.some((r) => r.namespace === ns),
  );
  const namespace = preferred ?? candidates[0]?.namespace;
  return candidates.filter((r) => r.namespace === namespace);
}

/** Merges the selected rules oldest first (see {@link selectDestinationPolicy}). */
export function mergeDestinationRules(
  rules: readonly IndexedDestinationRule[],
  host: string,
  diagnostics?: Diagnostic[],
): DestinationPolicy | undefined {
  if (rules.length === 0) return undefined;
  const policy: DestinationPolicy = { subsets: new Map(), rules: [...rules] };
  for (const rule of rules) {
    policy.trafficPolicy ??= rule.spec.trafficPolicy;
    rule.spec.subsets?.forEach((subset, i) => {
      if (policy.subsets.has(subset.name)) {
        diagnostics?.push(
          compileDiagnostic(
            "warning",
            "JIBE2007",
            rule.ref,
            `spec.subsets[${i}]`,
            `subset "${subset.name}" of ${host} is already defined by an older DestinationRule; this definition is ignored (rename it or remove one)`,
          ),
        );
        return;
      }
      const entry: { labels: Record<string, string>; trafficPolicy?: TrafficPolicy } = {
        labels: subset.labels ?? {},
      };
      if (subset.trafficPolicy) entry.trafficPolicy = subset.trafficPolicy;
      policy.subsets.set(subset.name, entry);
    });
  }
  return policy;
}
