import { AdmissionregistrationV1Api, type KubeConfig } from "@kubernetes/client-node";

/** Name of the MutatingWebhookConfiguration `jibe install` creates (infra/k8s/install). */
export const WEBHOOK_CONFIGURATION_NAME = "jibe-sidecar-injector";

/**
 * Puts the webhook's serving certificate into every webhook of its MutatingWebhookConfiguration
 * (`clientConfig.caBundle`), as istiod does for its own: the certificate is generated at start, so
 * the API server learns to trust it here. Read-modify-write with the read's resourceVersion (a
 * concurrent change makes it fail with 409 rather than being lost). Returns false when the
 * configuration does not exist (injection not installed).
 *
 * @example
 * ```ts
 * await registerWebhookCaBundle(kc, WEBHOOK_CONFIGURATION_NAME, webhook.certPem);
 * ```
 */
export async function registerWebhookCaBundle(
  kc: KubeConfig,
  name: string,
  certPem: string,
): Promise<boolean> {
  const api = kc.makeApiClient(AdmissionregistrationV1Api);
  let current: Awaited<ReturnType<typeof api.readMutatingWebhookConfiguration>>;
  try {
    current = await api.readMutatingWebhookConfiguration({ name });
  } catch (error) {
    if ((error as { code?: number }).code === 404) return false;
    throw error;
  }
  const caBundle = Buffer.from(certPem).toString("base64");
  if ((current.webhooks ?? []).every((w) => w.clientConfig.caBundle === caBundle)) return true;
  await api.replaceMutatingWebhookConfiguration({
    name,
    body: {
      ...current,
      webhooks: (current.webhooks ?? []).map((w) => ({
        ...w,
        clientConfig: { ...w.clientConfig, caBundle },
      })),
    },
  });
  return true;
}
