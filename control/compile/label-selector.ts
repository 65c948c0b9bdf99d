import type { LabelSelector } from "../model/gateway-api.ts";

/**
 * Whether `labels` satisfy a Kubernetes label selector: every `matchLabels` entry and every
 * `matchExpressions` requirement (In, NotIn, Exists, DoesNotExist) holds; an empty selector
 * selects everything, as in Kubernetes.
 *
 * @example
 * ```ts
 * matchesLabelSelector({ matchLabels: { team: "a" } }, { team: "a", env: "prod" }); // true
 * matchesLabelSelector({ matchExpressions: [{ key: "env", operator: "NotIn", values: ["prod"] }] }, { env: "prod" }); // false
 * ```
 */
export function matchesLabelSelector(
  selector: LabelSelector,
  labels: Readonly<Record<string, string>>,
): boolean {
  for (const [key, value] of Object.entries(selector.matchLabels ?? {}))
    if (labels[key] !== value) return false;
  return (selector.matchExpressions ?? []).every((requirement) => {
    const value = labels[requirement.key];
    const values = requirement.values ?? [];
    switch (requirement.operator) {
      case "In":
        return value !== undefined && values.includes(value);
      case "NotIn":
        return value === undefined || !values.includes(value);
      case "Exists":
        return value !== undefined;
      case "DoesNotExist":
        return value === undefined;
      default: {
        const _exhaustive: never = requirement.operator;
        return _exhaustive;
      }
    }
  });
}

/** The label Kubernetes sets on every Namespace (immutable, since 1.21): its own name. */
export const NAMESPACE_NAME_LABEL = "kubernetes.io/metadata.name";

/**
 * A Namespace's labels as Kubernetes has them: the stored ones plus `kubernetes.io/metadata.name`,
 * which is there even when no Namespace resource was applied.
 *
 * @example
 * ```ts
 * namespaceLabelsOf(new Map(), "team-a"); // { "kubernetes.io/metadata.name": "team-a" }
 * ```
 */
export function namespaceLabelsOf(
  known: ReadonlyMap<string, Readonly<Record<string, string>>>,
  namespace: string,
): Record<string, string> {
  return { ...(known.get(namespace) ?? {}), [NAMESPACE_NAME_LABEL]: namespace };
}
