import type { KubeConfig } from "@kubernetes/client-node";
import { createTokenReviewer } from "../../identity/token-review-client.ts";
import { loadKubeConfig } from "../k8s-adapter/kube-client.ts";
import { parseDurationMs } from "../model/duration.ts";
import type { ControlPlaneOptions } from "./start.ts";

/** The audience the injector projects service-account tokens for, and the CA asks TokenReview to check. */
export const DEFAULT_TOKEN_AUDIENCE = "jibe";

/**
 * The mesh CA of the standalone control plane, from its environment: `JIBE_TRUST_DOMAIN` (default
 * cluster.local), `JIBE_CA_DIR` (a plug-in CA; default: self-signed under `$JIBE_HOME/ca`),
 * `JIBE_WORKLOAD_CERT_TTL` (e.g. `12h`; default 24h). On Kubernetes (`KUBECONFIG`, or in a Pod) the
 * CA also accepts projected service-account tokens, checked with TokenReview for the audience
 * `JIBE_TOKEN_AUDIENCE` (default `jibe`, what the injector projects); join tokens always.
 *
 * @example
 * ```ts
 * await startControlPlane({ nc, home, identity: meshCaOptions(process.env) });
 * ```
 */
export function meshCaOptions(
  env: Readonly<Record<string, string | undefined>>,
): NonNullable<ControlPlaneOptions["identity"]> {
  const ttl = env.JIBE_WORKLOAD_CERT_TTL?.trim();
  const ttlMs = ttl ? parseDurationMs(ttl) : undefined;
  if (ttl && (ttlMs === undefined || ttlMs < 60_000))
    throw new Error(
      `JIBE_WORKLOAD_CERT_TTL=${ttl} is not a duration of at least 1m; write it like 24h or 90m`,
    );
  const audience = env.JIBE_TOKEN_AUDIENCE?.trim() || DEFAULT_TOKEN_AUDIENCE;
  const kc = clusterOf(env);
  return {
    ...(env.JIBE_TRUST_DOMAIN?.trim() ? { trustDomain: env.JIBE_TRUST_DOMAIN.trim() } : {}),
    ...(env.JIBE_CA_DIR?.trim() ? { caDir: env.JIBE_CA_DIR.trim() } : {}),
    ...(ttlMs ? { defaultTtlMs: ttlMs } : {}),
    ...(kc ? { tokenReviewer: createTokenReviewer(kc, { audiences: [audience] }) } : {}),
  };
}

/** The same cluster the Kubernetes side uses: `KUBECONFIG`, else the Pod's service account. */
function clusterOf(env: Readonly<Record<string, string | undefined>>): KubeConfig | undefined {
  if (env.KUBECONFIG) return loadKubeConfig({ kubeconfig: env.KUBECONFIG });
  if (env.KUBERNETES_SERVICE_HOST) return loadKubeConfig({ inCluster: true });
  return undefined;
}
