import type { NamespaceInfo, Pod } from "./pod.ts";

/** Namespaces never injected: Kubernetes' own and the mesh's. */
export const SYSTEM_NAMESPACES: readonly string[] = ["kube-system", "kube-public", "kube-node-lease"];

export const INJECTION_LABELS = {
  jibeNamespace: "jibe-injection",
  istioNamespace: "istio-injection",
  jibePod: "sidecar.jibe.dev/inject",
  istioPod: "sidecar.istio.io/inject",
} as const;

/** The annotation that marks an injected Pod (injection is idempotent on it). */
export const STATUS_ANNOTATION = "sidecar.jibe.dev/status";
const ISTIO_STATUS_ANNOTATION = "sidecar.istio.io/status";

export type InjectionDecision = { inject: boolean; reason: string };

/**
 * Whether a Pod gets the proxy, and why (the reason is logged and returned in the admission
 * response's audit annotation). Pure.
 *
 * Never: already injected (by Jibe or Istio), a system or the mesh namespace, hostNetwork Pods
 * (capture would rewrite the node's iptables), namespaces labelled `jibe-injection=disabled` /
 * `istio-injection=disabled`, Pods opting out with `sidecar.jibe.dev/inject=false` or
 * `sidecar.istio.io/inject=false` (label or annotation). Then: Pods labelled
 * `sidecar.jibe.dev/inject=true`, and every Pod in a namespace labelled `jibe-injection=enabled`
 * or `istio-injection=enabled`.
 *
 * @example
 * ```ts
 * decideInjection(pod, { name: "shop", labels: { "istio-injection": "enabled" } }, "jibe-system");
 * // { inject: true, reason: "namespace shop has istio-injection=enabled" }
 * ```
 */
export function decideInjection(
  pod: Pod,
  namespace: NamespaceInfo,
  meshNamespace: string,
): InjectionDecision {
  const labels = pod.metadata?.labels ?? {};
  const annotations = pod.metadata?.annotations ?? {};
  const injectedBy = [STATUS_ANNOTATION, ISTIO_STATUS_ANNOTATION].find((a) => annotations[a] !== undefined);
  if (injectedBy) return { inject: false, reason: `already injected (${injectedBy})` };
  if (SYSTEM_NAMESPACES.includes(namespace.name) || namespace.name === meshNamespace) {
    return { inject: false, reason: `namespace ${namespace.name} is never injected` };
  }
  if (pod.spec?.hostNetwork === true) return { inject: false, reason: "hostNetwork pods are never injected" };
  const nsLabel = [INJECTION_LABELS.jibeNamespace, INJECTION_LABELS.istioNamespace].find(
    (l) => namespace.labels[l] === "disabled",
  );
  if (nsLabel) return { inject: false, reason: `namespace ${namespace.name} has ${nsLabel}=disabled` };
  for (const key of [INJECTION_LABELS.jibePod, INJECTION_LABELS.istioPod]) {
    if (labels[key] === "false" || annotations[key] === "false") {
      return { inject: false, reason: `pod opted out with ${key}=false` };
    }
  }
  if (labels[INJECTION_LABELS.jibePod] === "true") {
    return { inject: true, reason: `pod has ${INJECTION_LABELS.jibePod}=true` };
  }
  const enabledBy = [INJECTION_LABELS.jibeNamespace, INJECTION_LABELS.istioNamespace].find(
    (l) => namespace.labels[l] === "enabled",
  );
  if (enabledBy) return { inject: true, reason: `namespace ${namespace.name} has ${enabledBy}=enabled` };
  return { inject: false, reason: `namespace ${namespace.name} is not labelled jibe-injection=enabled` };
}
