import { InjectorError } from "./errors.ts";
import { decideInjection, STATUS_ANNOTATION } from "./injection-policy.ts";
import { renderIptablesRules } from "./iptables.ts";
import { type PatchOperation, pointer } from "./json-patch.ts";
import type { NamespaceInfo, Pod } from "./pod.ts";
import { rewriteHttpProbes } from "./probe-rewrite.ts";
import { prometheusMerge } from "./prometheus-merge.ts";
import {
  type ProxyIdentityOptions,
  proxyIdentityEnv,
  serviceAccountTokenVolume,
  TOKEN_VOLUME,
} from "./proxy-identity.ts";
import {
  buildInitContainer,
  buildProxyContainer,
  INIT_CONTAINER_NAME,
  PROXY_CONTAINER_NAME,
} from "./sidecar-containers.ts";
import { readTrafficCapture } from "./traffic-capture.ts";

/** The annotation holding the app's original probes (JSON by rewritten path). */
export const APP_PROBERS_ANNOTATION = "sidecar.jibe.dev/app-probers";
const DEFAULT_CONTAINER_ANNOTATION = "kubectl.kubernetes.io/default-container";
const REWRITE_PROBES_ANNOTATION = "sidecar.istio.io/rewriteAppHTTPProbers";

export interface InjectionOptions extends ProxyIdentityOptions {
  /** The cluster's version (`1.30`, `v1.29.4-gke.100`): native sidecars from 1.29. */
  kubernetesVersion: string;
  proxyImage: string;
  /** The namespace Jibe runs in (never injected). Default `jibe-system`. */
  meshNamespace?: string;
  /** Extra environment for the proxy (e.g. `JIBE_NATS_URL`). */
  proxyEnv?: readonly { name: string; value: string }[];
}

export type InjectionResult =
  | { injected: false; reason: string }
  | { injected: true; reason: string; nativeSidecar: boolean; patch: PatchOperation[] };

/**
 * The JSON patch (RFC 6902) that injects the Jibe proxy and the traffic-capture init container
 * into `pod`, or why not (see {@link decideInjection}). Pure and idempotent: a Pod carrying the
 * status annotation is left alone.
 *
 * @throws InjectorError `invalid-annotation` (a capture annotation is wrong; the Pod should be
 * denied with the message) or `kubernetes-version-invalid`.
 * @example
 * ```ts
 * const result = computeInjectionPatch(pod, { name: "shop", labels: { "jibe-injection": "enabled" } },
 *   { kubernetesVersion: "1.30", proxyImage: "ghcr.io/jibe/proxy:0.1.0" });
 * if (result.injected) respond(result.patch);
 * ```
 */
export function computeInjectionPatch(
  pod: Pod,
  namespace: NamespaceInfo,
  opts: InjectionOptions,
): InjectionResult {
  const native = supportsNativeSidecars(opts.kubernetesVersion);
  const decision = decideInjection(pod, namespace, opts.meshNamespace ?? "jibe-system");
  if (!decision.inject) return { injected: false, reason: decision.reason };
  const annotations = pod.metadata?.annotations ?? {};
  const containers = pod.spec?.containers ?? [];
  const initContainers = pod.spec?.initContainers ?? [];
  const taken = [...containers, ...initContainers].find(
    (c) => c.name === PROXY_CONTAINER_NAME || c.name === INIT_CONTAINER_NAME,
  );
  if (taken) return { injected: false, reason: `pod already has a container named ${taken.name}` };
  const volumes = (pod.spec?.volumes as { name?: string }[] | undefined) ?? [];
  if (volumes.some((v) => v.name === TOKEN_VOLUME.name))
    return { injected: false, reason: `pod already has a volume named ${TOKEN_VOLUME.name}` };

  const rules = renderIptablesRules(readTrafficCapture(annotations));
  const { rewritten, probers } =
    annotations[REWRITE_PROBES_ANNOTATION] === "false"
      ? { rewritten: [], probers: {} }
      : rewriteHttpProbes(containers);
  // Istio's metrics merging: Prometheus scrapes the proxy, which serves the app's metrics too.
  const merge = prometheusMerge(annotations);
  const proxyEnv = [
    ...proxyIdentityEnv(pod, {
      ...(opts.trustDomain ? { trustDomain: opts.trustDomain } : {}),
      ...(opts.tokenAudience ? { tokenAudience: opts.tokenAudience } : {}),
    }),
    ...(opts.proxyEnv ?? []),
    ...(merge?.env ?? []),
  ];
  const proxy = buildProxyContainer({
    image: opts.proxyImage,
    native,
    appProbers: JSON.stringify(probers),
    env: proxyEnv,
  });
  const init = buildInitContainer({ image: opts.proxyImage, rules });

  const added: Record<string, string> = {
    [STATUS_ANNOTATION]: JSON.stringify({
      initContainers: native ? [INIT_CONTAINER_NAME, PROXY_CONTAINER_NAME] : [INIT_CONTAINER_NAME],
      containers: native ? [] : [PROXY_CONTAINER_NAME],
      nativeSidecar: native,
    }),
  };
  if (rewritten.length > 0) added[APP_PROBERS_ANNOTATION] = JSON.stringify(probers);
  Object.assign(added, merge?.annotations);
  const firstApp = containers[0]?.name;
  if (!native && firstApp && annotations[DEFAULT_CONTAINER_ANNOTATION] === undefined) {
    // The proxy goes first (to hold the app); kubectl logs/exec should still default to the app.
    added[DEFAULT_CONTAINER_ANNOTATION] = firstApp;
  }

  // Probe replacements address containers by index, so they come before the proxy is inserted at 0.
  const patch: PatchOperation[] = rewritten.map((r) => ({
    op: "replace",
    path: pointer("spec", "containers", r.containerIndex, r.kind),
    value: r.probe,
  }));
  patch.push(...annotationOps(pod, added));
  const sidecarInits = native ? [init, proxy] : [init];
  if (initContainers.length === 0) {
    patch.push({ op: "add", path: pointer("spec", "initContainers"), value: sidecarInits });
  } else {
    sidecarInits.forEach((c, i) => {
      patch.push({ op: "add", path: pointer("spec", "initContainers", i), value: c });
    });
  }
  if (!native) patch.push({ op: "add", path: pointer("spec", "containers", 0), value: proxy });
  const tokenVolume = serviceAccountTokenVolume(opts.tokenAudience);
  patch.push(
    pod.spec?.volumes === undefined
      ? { op: "add", path: pointer("spec", "volumes"), value: [tokenVolume] }
      : { op: "add", path: pointer("spec", "volumes", "-"), value: tokenVolume },
  );
  return { injected: true, reason: decision.reason, nativeSidecar: native, patch };
}

/**
 * Whether a cluster runs sidecars as restartable init containers (SidecarContainers, on by default
 * since Kubernetes 1.29).
 *
 * @example
 * ```ts
 * supportsNativeSidecars("v1.28.9"); // false
 * ```
 */
export function supportsNativeSidecars(kubernetesVersion: string): boolean {
  const match = /^v?(\d+)\.(\d+)/.exec(kubernetesVersion.trim());
  if (!match) {
    throw new InjectorError(
      "kubernetes-version-invalid",
      `kubernetesVersion: "${kubernetesVersion}" is not a Kubernetes version; use <major>.<minor> like 1.30`,
    );
  }
  const major = Number(match[1]);
  const minor = Number(match[2]);
  return major > 1 || (major === 1 && minor >= 29);
}

function annotationOps(pod: Pod, added: Record<string, string>): PatchOperation[] {
  if (!pod.metadata) return [{ op: "add", path: pointer("metadata"), value: { annotations: added } }];
  if (!pod.metadata.annotations)
    return [{ op: "add", path: pointer("metadata", "annotations"), value: added }];
  return Object.entries(added).map(([key, value]) => ({
    op: "add",
    path: pointer("metadata", "annotations", key),
    value,
  }));
}
