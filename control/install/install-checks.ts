/**
 * What `jibe install` checks before it changes anything (pure): the server's version, objects of the
 * same name that are not Jibe's (an Istio install's CRDs above all), and notes about the webhook.
 */

/** Oldest Kubernetes `jibe install` accepts (admissionregistration v1, EndpointSlice v1, CRD v1). */
export const MINIMUM_KUBERNETES = { major: 1, minor: 27 } as const;

/** The label every installed object carries; its absence on an existing object means "not ours". */
export const INSTALL_LABEL = "app.kubernetes.io/part-of";
export const INSTALL_LABEL_VALUE = "jibe";

export type InstallProblemCode =
  | "server-version-unknown"
  | "server-too-old"
  | "crd-conflict"
  | "crd-missing"
  | "object-conflict"
  | "other-injector"
  | "webhook-reachability";

export interface InstallProblem {
  /** Errors stop the install; notes are printed and the install goes on. */
  severity: "error" | "note";
  code: InstallProblemCode;
  message: string;
}

/** The objects the check needs to see: `apiVersion`, `kind`, `metadata`, and CRD `spec.versions`. */
export interface ObjectLike {
  apiVersion?: string;
  kind?: string;
  metadata?: { name?: string; namespace?: string; labels?: Record<string, string> };
  spec?: unknown;
  webhooks?: { name?: string }[];
}

export interface InstallTarget {
  /** `gitVersion` from the server's `/version`, e.g. `v1.30.2-gke.1000`. */
  serverVersion: string;
  /** For every object to install, the object of the same kind/namespace/name already there, if any. */
  existing: readonly { wanted: ObjectLike; found: ObjectLike | undefined }[];
  /** Every MutatingWebhookConfiguration in the cluster (to spot another sidecar injector). */
  webhookConfigurations: readonly ObjectLike[];
  /** Whether this install registers the injection webhook. */
  injector: boolean;
  /** With `--skip-crds`: the CRDs Jibe needs and what the cluster has instead (must serve the same versions). */
  keptCrds?: readonly { wanted: ObjectLike; found: ObjectLike | undefined }[];
}

/**
 * Problems with installing into a cluster, errors first.
 *
 * @example
 * ```ts
 * checkInstallTarget({ serverVersion: "v1.25.0", existing: [], webhookConfigurations: [], injector: true });
 * // [{ severity: "error", code: "server-too-old", message: "Kubernetes v1.25.0 is older than ..." }]
 * ```
 */
export function checkInstallTarget(target: InstallTarget): InstallProblem[] {
  const problems: InstallProblem[] = [];
  const version = parseKubernetesVersion(target.serverVersion);
  const minimum = `${MINIMUM_KUBERNETES.major}.${MINIMUM_KUBERNETES.minor}`;
  if (!version) {
    problems.push({
      severity: "error",
      code: "server-version-unknown",
      message: `the API server reports version "${target.serverVersion}", which is not a Kubernetes version; Jibe needs ${minimum} or newer`,
    });
  } else if (
    version.major < MINIMUM_KUBERNETES.major ||
    (version.major === MINIMUM_KUBERNETES.major && version.minor < MINIMUM_KUBERNETES.minor)
  ) {
    problems.push({
      severity: "error",
      code: "server-too-old",
      message: `Kubernetes ${target.serverVersion} is older than ${minimum}, the oldest Jibe supports; upgrade the cluster`,
    });
  }
  for (const { wanted, found } of target.existing) {
    if (!found || isOurs(found) || wanted.kind === "Namespace") continue;
    problems.push(conflict(wanted, found));
  }
  for (const { wanted, found } of target.keptCrds ?? []) {
    const missing = found
      ? servedVersions(wanted).filter((v) => !servedVersions(found).includes(v))
      : servedVersions(wanted);
    if (missing.length === 0) continue;
    problems.push({
      severity: "error",
      code: "crd-missing",
      message: found
        ? `CustomResourceDefinition ${wanted.metadata?.name} (kept by --skip-crds) does not serve ${missing.join(", ")}: upgrade the other install's CRDs, or install Jibe's`
        : `CustomResourceDefinition ${wanted.metadata?.name} does not exist: install without --skip-crds`,
    });
  }
  if (target.injector) {
    for (const other of target.webhookConfigurations) {
      if (isOurs(other)) continue;
      const injectsPods = (other.webhooks ?? []).some((w) => /sidecar-injector|inject/.test(w.name ?? ""));
      if (!injectsPods) continue;
      problems.push({
        severity: "note",
        code: "other-injector",
        message: `MutatingWebhookConfiguration ${other.metadata?.name} also injects sidecars; a namespace labelled for both meshes gets both proxies: label each namespace for one mesh only`,
      });
    }
    problems.push({
      severity: "note",
      code: "webhook-reachability",
      message:
        "the API server calls the injector at Service jibe-control-plane.jibe-system:443 (Pod port 15017): allow that in NetworkPolicies and, on private GKE/EKS clusters, in the control plane's firewall",
    });
  }
  return problems.sort((a, b) => (a.severity === b.severity ? 0 : a.severity === "error" ? -1 : 1));
}

function isOurs(object: ObjectLike): boolean {
  return object.metadata?.labels?.[INSTALL_LABEL] === INSTALL_LABEL_VALUE;
}

function conflict(wanted: ObjectLike, found: ObjectLike): InstallProblem {
  const name = `${wanted.kind} ${wanted.metadata?.namespace ? `${wanted.metadata.namespace}/` : ""}${wanted.metadata?.name}`;
  const owner = describeOwner(found);
  if (wanted.kind === "CustomResourceDefinition") {
    const served = servedVersions(found);
    const missing = servedVersions(wanted).filter((v) => !served.includes(v));
    return {
      severity: "error",
      code: "crd-conflict",
      message:
        `${name} already exists and is not Jibe's (${owner}; serves ${served.join(", ") || "no versions"}` +
        `${missing.length ? `, not ${missing.join(", ")}` : ""}): uninstall the other mesh's CRDs first ` +
        "(istioctl uninstall --purge), or keep them with --skip-crds",
    };
  }
  return {
    severity: "error",
    code: "object-conflict",
    message: `${name} already exists and is not Jibe's (${owner}): delete or rename it, then install again`,
  };
}

function describeOwner(found: ObjectLike): string {
  const labels = found.metadata?.labels ?? {};
  const hint = ["app.kubernetes.io/part-of", "app.kubernetes.io/managed-by", "app", "release"]
    .filter((k) => labels[k] !== undefined)
    .map((k) => `${k}=${labels[k]}`);
  return hint.length ? `labels ${hint.join(", ")}` : "no app.kubernetes.io/part-of=jibe label";
}

function servedVersions(crd: ObjectLike): string[] {
  const versions = (crd.spec as { versions?: { name?: string; served?: boolean }[] } | undefined)?.versions;
  return (versions ?? []).filter((v) => v.served !== false).map((v) => v.name ?? "");
}

/**
 * `v1.30.2-gke.1000` → `{ major: 1, minor: 30 }` (the `+` some providers append to minors is dropped).
 *
 * @example
 * ```ts
 * parseKubernetesVersion("v1.29.4-eks-036c24b"); // { major: 1, minor: 29 }
 * ```
 */
export function parseKubernetesVersion(version: string): { major: number; minor: number } | undefined {
  const match = /^v?(\d+)\.(\d+)\+?(?:[.-].*)?$/.exec(version.trim());
  return match ? { major: Number(match[1]), minor: Number(match[2]) } : undefined;
}
