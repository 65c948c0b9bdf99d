import type { Pod } from "./pod.ts";
import { PROXY } from "./traffic-capture.ts";

/** The projected service-account token the proxy sends with its CSRs (the CA checks it with TokenReview). */
export const TOKEN_VOLUME = {
  name: "jibe-token",
  mountPath: "/var/run/secrets/jibe",
  file: "token",
  /** What the mesh CA asks TokenReview to check (`JIBE_TOKEN_AUDIENCE` of the control plane). */
  audience: "jibe",
  /** The kubelet refreshes the token at 80 % of this; the proxy re-reads it at every renewal. */
  expirationSeconds: 3600,
} as const;

/** The path of the token file inside the proxy container. */
export const TOKEN_FILE = `${TOKEN_VOLUME.mountPath}/${TOKEN_VOLUME.file}`;

/** A container environment variable: a value, or a field of the Pod (downward API). */
export interface EnvVar {
  name: string;
  value?: string;
  valueFrom?: { fieldRef: { fieldPath: string } };
}

/** Settings of the proxy's identity and listeners that the injector writes into its environment. */
export interface ProxyIdentityOptions {
  /** Default cluster.local. */
  trustDomain?: string;
  /** Default `jibe`; must be the control plane's `JIBE_TOKEN_AUDIENCE`. */
  tokenAudience?: string;
}

/**
 * The Pod volume with the proxy's service-account token: a projected `serviceAccountToken` for the
 * mesh audience (not the API server's), valid one hour, refreshed by the kubelet. Pure.
 *
 * @example
 * ```ts
 * serviceAccountTokenVolume("jibe").projected.sources[0].serviceAccountToken.path; // "token"
 * ```
 */
export function serviceAccountTokenVolume(audience: string = TOKEN_VOLUME.audience) {
  return {
    name: TOKEN_VOLUME.name,
    projected: {
      sources: [
        {
          serviceAccountToken: {
            audience,
            expirationSeconds: TOKEN_VOLUME.expirationSeconds,
            path: TOKEN_VOLUME.file,
          },
        },
      ],
    },
  };
}

/**
 * The proxy's environment as `workers/sidecar` reads it (`sidecar-env.ts`, `identity-env.ts`): its
 * SPIFFE identity (namespace and service account from the Pod, the token file), the Pod's labels,
 * the app's first declared port, listeners on every address (the kubelet probes and captured
 * traffic arrive at the Pod IP) on Istio's ports, and the status port 15020 that the rewritten
 * probes and the metrics merge point at. Pure.
 *
 * @example
 * ```ts
 * proxyIdentityEnv(pod, { trustDomain: "cluster.local" });
 * // [{ name: "JIBE_NAMESPACE", valueFrom: ... }, { name: "JIBE_SERVICE_ACCOUNT_TOKEN_FILE", value: "/var/run/secrets/jibe/token" }, ...]
 * ```
 */
export function proxyIdentityEnv(pod: Pod, opts: ProxyIdentityOptions = {}): EnvVar[] {
  const field = (name: string, fieldPath: string) => ({ name, valueFrom: { fieldRef: { fieldPath } } });
  const value = (name: string, text: string) => ({ name, value: text });
  const labels = Object.entries(pod.metadata?.labels ?? {})
    .map(([key, label]) => `${key}=${label}`)
    .sort()
    .join(",");
  const appPort = (pod.spec?.containers ?? [])
    .flatMap((c) => c.ports ?? [])
    .find((p) => (p.protocol ?? "TCP") === "TCP")?.containerPort;
  return [
    field("JIBE_NAMESPACE", "metadata.namespace"),
    field("JIBE_POD_NAME", "metadata.name"),
    // One proxy id per Pod (Istio: sidecar~<ip>~<pod>.<ns>~<ns>.svc.cluster.local); the kubelet
    // expands $(VAR) from the variables above.
    value("JIBE_PROXY_ID", "sidecar~$(JIBE_POD_NAME).$(JIBE_NAMESPACE)~$(JIBE_NAMESPACE)"),
    field("JIBE_SERVICE_ACCOUNT", "spec.serviceAccountName"),
    value("JIBE_TRUST_DOMAIN", opts.trustDomain ?? "cluster.local"),
    value("JIBE_SERVICE_ACCOUNT_TOKEN_FILE", TOKEN_FILE),
    ...(labels ? [value("JIBE_LABELS", labels)] : []),
    ...(appPort === undefined ? [] : [value("JIBE_APP_PORT", String(appPort))]),
    value("JIBE_SIDECAR_HOST", "0.0.0.0"),
    value("JIBE_INBOUND_PORT", String(PROXY.inboundPort)),
    value("JIBE_OUTBOUND_PORT", String(PROXY.outboundPort)),
    value("JIBE_SIDECAR_ADMIN_PORT", String(PROXY.statusPort)),
  ];
}
