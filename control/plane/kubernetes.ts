import { CoreV1Api, type KubeConfig, VersionApi } from "@kubernetes/client-node";
import type { Logger } from "../../broker/logger.ts";
import { DEFAULT_TRUST_DOMAIN } from "../../identity/spiffe-id.ts";
import {
  type InjectionWebhookOptions,
  registerWebhookCaBundle,
  WEBHOOK_CONFIGURATION_NAME,
} from "../injector/node.ts";
import { type KubernetesAdapter, startKubernetesAdapter } from "../k8s-adapter/adapter.ts";
import { createKubeApi, loadKubeConfig } from "../k8s-adapter/kube-client.ts";
import { jibeHome } from "./home.ts";
import { injectedProxySettings } from "./injected-proxy-env.ts";
import type { RunningControlPlane } from "./start.ts";
import { kubeStateSecret, restoreControlPlaneState, saveCaFilesToSecret } from "./state-secret.ts";

/**
 * The control plane's Kubernetes side, from the environment the Deployment sets
 * (infra/k8s/install): `JIBE_K8S_CLUSTER` runs the adapter for that cluster in-process;
 * `JIBE_INJECTOR=true` serves the injection webhook on `JIBE_INJECTOR_LISTEN` (default
 * 0.0.0.0:15017) with a certificate for `JIBE_INJECTOR_DNS_NAME` and registers it (caBundle).
 * `JIBE_STATE_SECRET` keeps the signing key, admin token, mesh CA and webhook certificate in that Secret of
 * `JIBE_NAMESPACE` (state-secret.ts), so they survive a restart although `JIBE_HOME` is an emptyDir.
 * The cluster is `KUBECONFIG`, else the Pod's service account.
 */
export interface KubernetesSide {
  /** Webhook options for `startControlPlane` (undefined: injection off). */
  injector: Omit<InjectionWebhookOptions, "log"> | undefined;
  /** Starts the adapter and registers the webhook once the control plane runs; resolves to its stop. */
  attach(running: RunningControlPlane): Promise<() => Promise<void>>;
  /**
   * With a state Secret and the self-signed mesh CA: saves the CA files to the Secret after each
   * rotation step (`startControlPlane({ identity: { onCaFilesWritten } })`), so restarts keep them.
   */
  onCaFilesWritten?: (dir: string) => Promise<void>;
}

/**
 * Reads the environment and prepares the Kubernetes side; undefined when neither the adapter nor the
 * injector is asked for.
 *
 * @example
 * ```ts
 * const kube = await prepareKubernetesSide(process.env, console);
 * const cp = await startControlPlane({ nc, home, ...(kube?.injector ? { injector: kube.injector } : {}) });
 * const detach = await kube?.attach(cp);
 * ```
 */
export async function prepareKubernetesSide(
  env: Readonly<Record<string, string | undefined>>,
  log: Logger,
): Promise<KubernetesSide | undefined> {
  const cluster = env.JIBE_K8S_CLUSTER?.trim() || undefined;
  const injectorOn = env.JIBE_INJECTOR === "true";
  const stateSecret = env.JIBE_STATE_SECRET?.trim() || undefined;
  if (!cluster && !injectorOn && !stateSecret) return undefined;
  if (!env.KUBECONFIG && !env.KUBERNETES_SERVICE_HOST)
    throw new Error(
      `${cluster ? "JIBE_K8S_CLUSTER" : injectorOn ? "JIBE_INJECTOR=true" : "JIBE_STATE_SECRET"} needs a Kubernetes cluster: set KUBECONFIG, or run in a Pod`,
    );
  const kc = env.KUBECONFIG
    ? loadKubeConfig({ kubeconfig: env.KUBECONFIG })
    : loadKubeConfig({ inCluster: true });
  let adapter: KubernetesAdapter | undefined;
  const dnsNames = [env.JIBE_INJECTOR_DNS_NAME ?? "jibe-control-plane.jibe-system.svc", "localhost"];
  const secret = stateSecret
    ? kubeStateSecret(kc, required(env, "JIBE_NAMESPACE", "its namespace"), stateSecret, PART_OF)
    : undefined;
  const meshCaInSecret = secret !== undefined && !env.JIBE_CA_DIR?.trim();
  const state = secret
    ? await restoreControlPlaneState({
        secret,
        home: jibeHome(env),
        ...(injectorOn ? { webhookDnsNames: dnsNames } : {}),
        // The self-signed mesh CA the control plane runs (mesh-ca-env.ts); a plug-in CA is kept elsewhere.
        ...(env.JIBE_CA_DIR?.trim()
          ? {}
          : { meshCa: { trustDomain: env.JIBE_TRUST_DOMAIN?.trim() || DEFAULT_TRUST_DOMAIN } }),
        log,
      })
    : undefined;
  const injector = injectorOn
    ? {
        ...listenAddress(env.JIBE_INJECTOR_LISTEN ?? "0.0.0.0:15017"),
        dnsNames,
        ...(state?.webhookTls ? { tls: state.webhookTls } : {}),
        injection: {
          kubernetesVersion: (await kc.makeApiClient(VersionApi).getCode()).gitVersion,
          proxyImage: required(env, "JIBE_PROXY_IMAGE", "the image of the injected proxy"),
          // After the state is restored: the JWKS given to proxies is the one that survives restarts.
          ...(await injectedProxySettings(env, jibeHome(env))),
        },
        // The adapter's informer cache when it runs, else one read per admission.
        lookupNamespace: async (name: string) =>
          adapter?.namespaceLabels(name) ?? (await readNamespaceLabels(kc, name)),
      }
    : undefined;
  return {
    injector,
    ...(secret && meshCaInSecret
      ? { onCaFilesWritten: () => saveCaFilesToSecret(secret, jibeHome(env)) }
      : {}),
    async attach(running) {
      if (cluster)
        adapter = await startKubernetesAdapter({
          kube: createKubeApi(kc),
          mesh: running.plane,
          cluster,
          log,
        });
      if (running.injector) {
        const registered = await registerWebhookCaBundle(
          kc,
          WEBHOOK_CONFIGURATION_NAME,
          running.injector.certPem,
        );
        if (!registered)
          log.warn(
            `injection webhook: no MutatingWebhookConfiguration ${WEBHOOK_CONFIGURATION_NAME}; install it (jibe install) or Pods are not injected`,
          );
      }
      return async () => {
        await adapter?.stop();
      };
    },
  };
}

async function readNamespaceLabels(
  kc: KubeConfig,
  name: string,
): Promise<Record<string, string> | undefined> {
  try {
    return (await kc.makeApiClient(CoreV1Api).readNamespace({ name })).metadata?.labels ?? {};
  } catch (error) {
    if ((error as { code?: number }).code === 404) return undefined;
    throw error;
  }
}

/** The install label (infra/k8s/install), also on the state Secret the control plane creates. */
const PART_OF = { "app.kubernetes.io/part-of": "jibe" };

function listenAddress(value: string): { host: string; port: number } {
  const match = /^(.*):(\d+)$/.exec(value);
  if (!match) throw new Error(`JIBE_INJECTOR_LISTEN=${value} is not host:port; use e.g. 0.0.0.0:15017`);
  return { host: (match[1] ?? "").replace(/^\[|\]$/g, ""), port: Number(match[2]) };
}

function required(env: Readonly<Record<string, string | undefined>>, name: string, what: string): string {
  const value = env[name]?.trim();
  if (!value) throw new Error(`${name} is not set: set it to ${what}`);
  return value;
}
