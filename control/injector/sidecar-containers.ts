import type { Container } from "./pod.ts";
import { type EnvVar, TOKEN_VOLUME } from "./proxy-identity.ts";
import { PROXY } from "./traffic-capture.ts";

export const PROXY_CONTAINER_NAME = "jibe-proxy";
export const INIT_CONTAINER_NAME = "jibe-init";

export interface ProxyContainerOptions {
  image: string;
  /** Run as a native sidecar (restartable init container, Kubernetes >= 1.29). */
  native: boolean;
  /** JSON of the app's original probes by rewritten path (see probe-rewrite.ts). */
  appProbers: string;
  env?: readonly EnvVar[];
}

// The proxy answers readiness on its status port (JIBE_SIDECAR_ADMIN_PORT, workers/sidecar/admin.ts).
const READY = { httpGet: { path: "/healthz/ready", port: PROXY.statusPort } };

/**
 * The proxy container. It holds the app until it is ready, as Istio's holdApplicationUntilProxyStarts:
 * as a native sidecar the kubelet starts later containers only once its startupProbe passed; as a
 * regular (first) container its postStart hook blocks the kubelet until the proxy is ready.
 *
 * @example
 * ```ts
 * buildProxyContainer({ image: "ghcr.io/jibe/proxy:0.1.0", native: true, appProbers: "{}" }).restartPolicy; // "Always"
 * ```
 */
export function buildProxyContainer(opts: ProxyContainerOptions): Container {
  const fieldEnv = (name: string, fieldPath: string) => ({ name, valueFrom: { fieldRef: { fieldPath } } });
  const container: Container = {
    name: PROXY_CONTAINER_NAME,
    image: opts.image,
    args: ["proxy", "sidecar"],
    ports: [{ name: "http-envoy-prom", containerPort: PROXY.metricsPort, protocol: "TCP" }],
    env: [
      fieldEnv("POD_NAME", "metadata.name"),
      fieldEnv("POD_NAMESPACE", "metadata.namespace"),
      fieldEnv("INSTANCE_IP", "status.podIP"),
      fieldEnv("SERVICE_ACCOUNT", "spec.serviceAccountName"),
      { name: "JIBE_KUBE_APP_PROBERS", value: opts.appProbers },
      ...(opts.env ?? []),
    ],
    // The projected service-account token (the Pod's `jibe-token` volume) it sends with its CSRs.
    volumeMounts: [{ name: TOKEN_VOLUME.name, mountPath: TOKEN_VOLUME.mountPath, readOnly: true }],
    readinessProbe: { ...READY, periodSeconds: 15, timeoutSeconds: 3, failureThreshold: 4 },
    resources: { requests: { cpu: "100m", memory: "128Mi" } },
    securityContext: {
      runAsUser: PROXY.uid,
      runAsGroup: PROXY.uid,
      runAsNonRoot: true,
      allowPrivilegeEscalation: false,
      readOnlyRootFilesystem: true,
      capabilities: { drop: ["ALL"] },
    },
  };
  if (opts.native) {
    return {
      ...container,
      restartPolicy: "Always",
      startupProbe: { ...READY, periodSeconds: 1, timeoutSeconds: 3, failureThreshold: 600 },
    };
  }
  return { ...container, lifecycle: { postStart: { exec: { command: ["jibe", "proxy", "wait"] } } } };
}

/**
 * The traffic-capture init container: loads `rules` (iptables-restore text) into the Pod's network
 * namespace. Runs as root with NET_ADMIN/NET_RAW only, before every other container.
 *
 * @example
 * ```ts
 * buildInitContainer({ image, rules: renderIptablesRules(capture) });
 * ```
 */
export function buildInitContainer(opts: { image: string; rules: string }): Container {
  return {
    name: INIT_CONTAINER_NAME,
    image: opts.image,
    command: ["/bin/sh", "-c", 'printf "%s" "$JIBE_IPTABLES_RULES" | iptables-restore'],
    env: [{ name: "JIBE_IPTABLES_RULES", value: opts.rules }],
    resources: { requests: { cpu: "10m", memory: "16Mi" } },
    securityContext: {
      runAsUser: 0,
      runAsGroup: 0,
      runAsNonRoot: false,
      privileged: false,
      allowPrivilegeEscalation: false,
      readOnlyRootFilesystem: false,
      capabilities: { add: ["NET_ADMIN", "NET_RAW"], drop: ["ALL"] },
    },
  };
}
