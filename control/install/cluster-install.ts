import {
  ApiException,
  type KubeConfig,
  type KubernetesObject,
  KubernetesObjectApi,
  PatchStrategy,
  VersionApi,
} from "@kubernetes/client-node";
import { INSTALL_LABEL, INSTALL_LABEL_VALUE, type InstallTarget } from "./install-checks.ts";

/** The namespace objects live in (the install's namespaced objects are all in the mesh namespace). */
type Installable = KubernetesObject & { apiVersion: string; kind: string; metadata: { name: string } };

export type ApplyAction = "created" | "configured" | "unchanged";

/** The Kubernetes calls install and uninstall make (client-node's generic object API). */
export interface InstallCluster {
  serverVersion(): Promise<string>;
  read(object: Installable): Promise<KubernetesObject | undefined>;
  list(apiVersion: string, kind: string, namespace?: string): Promise<KubernetesObject[]>;
  /** Creates the object, or merge-patches it to what is given when it exists. Idempotent. */
  apply(object: Installable): Promise<ApplyAction>;
  remove(object: Installable): Promise<void>;
}

const FIELD_MANAGER = "jibe-install";

/**
 * An {@link InstallCluster} on a kubeconfig: `/version`, then create or JSON merge-patch (RFC 7386)
 * per object, by `apiVersion`/`kind` resolved through discovery.
 *
 * @example
 * ```ts
 * const cluster = connectInstallCluster(loadKubeConfig());
 * console.log(await cluster.serverVersion()); // "v1.30.2"
 * ```
 */
export function connectInstallCluster(kc: KubeConfig): InstallCluster {
  const objects = KubernetesObjectApi.makeApiClient(kc);
  const version = kc.makeApiClient(VersionApi);
  const read = async (object: Installable) => {
    try {
      return await objects.read(object as never);
    } catch (error) {
      if (error instanceof ApiException && error.code === 404) return undefined;
      throw error;
    }
  };
  return {
    async serverVersion() {
      return (await version.getCode()).gitVersion;
    },
    read,
    async list(apiVersion, kind, namespace) {
      return (await objects.list(apiVersion, kind, namespace)).items;
    },
    async apply(object) {
      const found = await read(object);
      if (!found) {
        await objects.create(object, undefined, undefined, FIELD_MANAGER);
        return "created";
      }
      const patched = await objects.patch(
        object,
        undefined,
        undefined,
        FIELD_MANAGER,
        undefined,
        PatchStrategy.MergePatch,
      );
      return patched.metadata?.resourceVersion === found.metadata?.resourceVersion
        ? "unchanged"
        : "configured";
    },
    async remove(object) {
      try {
        await objects.delete(object);
      } catch (error) {
        if (!(error instanceof ApiException && error.code === 404)) throw error;
      }
    },
  };
}

/**
 * Reads what {@link checkInstallTarget} needs: the server version, the existing object of each name
 * to install, and the webhook configurations.
 */
export async function inspectInstallTarget(
  cluster: InstallCluster,
  objects: readonly Installable[],
  injector: boolean,
  keptCrds: readonly Installable[] = [],
): Promise<InstallTarget> {
  const readAll = (list: readonly Installable[]) =>
    Promise.all(list.map(async (wanted) => ({ wanted, found: await cluster.read(wanted) })));
  const [serverVersion, existing, webhookConfigurations, kept] = await Promise.all([
    cluster.serverVersion(),
    readAll(objects),
    cluster.list("admissionregistration.k8s.io/v1", "MutatingWebhookConfiguration"),
    readAll(keptCrds),
  ]);
  return {
    serverVersion,
    existing,
    webhookConfigurations,
    injector,
    ...(kept.length ? { keptCrds: kept } : {}),
  };
}

/**
 * Deletes every object of these kinds that carries the install label, namespaced ones in `namespace`:
 * in reverse install order, the Namespace last. CRDs only when `purge` (deleting a CRD deletes every
 * resource of its kind). Returns what was deleted, as `Kind/name`.
 */
export async function uninstallObjects(
  cluster: InstallCluster,
  kinds: readonly { apiVersion: string; kind: string; namespaced: boolean }[],
  opts: {
    namespace: string;
    purge: boolean /** `Kind/name`s to leave (what an install still wants). */;
    keep?: ReadonlySet<string>;
  },
): Promise<string[]> {
  const deleted: string[] = [];
  const order = [...kinds]
    .reverse()
    .sort((a, b) => Number(a.kind === "Namespace") - Number(b.kind === "Namespace"));
  for (const { apiVersion, kind, namespaced } of order) {
    if (kind === "CustomResourceDefinition" && !opts.purge) continue;
    const found = await cluster.list(apiVersion, kind, namespaced ? opts.namespace : undefined);
    for (const object of found) {
      if (object.metadata?.labels?.[INSTALL_LABEL] !== INSTALL_LABEL_VALUE) continue;
      const name = object.metadata.name ?? "";
      if (opts.keep?.has(`${kind}/${name}`)) continue;
      await cluster.remove({
        apiVersion,
        kind,
        metadata: { name, ...(namespaced ? { namespace: opts.namespace } : {}) },
      });
      deleted.push(`${kind}/${name}`);
    }
  }
  return deleted;
}
