/**
 * What an install can be configured with (the Helm chart's `values.yaml`), and the three profiles.
 * One source: the plain manifests are built from a profile's values, the Helm templates from
 * placeholders of the same paths (see `install-objects.ts`).
 */

/** The namespace Jibe runs in (fixed: the injector never injects it, RBAC names it). */
export const MESH_NAMESPACE = "jibe-system";

/** Label on every object an install creates: how `jibe uninstall` finds them. */
export const PART_OF_LABEL = { "app.kubernetes.io/part-of": "jibe" } as const;

export interface InstallValues {
  /** Image of the control plane and of the injected proxy (one image, several entry points). */
  image: string;
  /** This cluster's name in the mesh (DNS-1123 label): in workload names and metric labels. */
  clusterName: string;
  nats: {
    image: string;
    /** StatefulSet replicas; JetStream replicates the config store across them. */
    replicas: number;
    /** PersistentVolumeClaim size of each server's JetStream store. */
    storage: string;
  };
  injector: {
    /** Serve the sidecar injection webhook and register it with the API server. */
    enabled: boolean;
    /** What the API server does when the webhook cannot be reached: `Fail` (Istio's default) or `Ignore`. */
    failurePolicy: "Fail" | "Ignore";
  };
}

export const PROFILE_NAMES = ["default", "demo", "minimal"] as const;
export type ProfileName = (typeof PROFILE_NAMES)[number];

const BASE: InstallValues = {
  image: "ghcr.io/jibe-mesh/jibe:0.1.0",
  clusterName: "cluster-1",
  nats: { image: "nats:2.10-alpine", replicas: 3, storage: "10Gi" },
  injector: { enabled: true, failurePolicy: "Fail" },
};

/**
 * The profiles: `default` for production (3-server NATS cluster, injection fails closed), `demo` for
 * a laptop cluster (1 NATS server, injection never blocks Pod creation), `minimal` (control plane,
 * NATS and CRDs only: no injector).
 */
export const PROFILES: Readonly<Record<ProfileName, InstallValues>> = {
  default: BASE,
  demo: {
    ...BASE,
    nats: { ...BASE.nats, replicas: 1, storage: "1Gi" },
    injector: { enabled: true, failurePolicy: "Ignore" },
  },
  minimal: {
    ...BASE,
    nats: { ...BASE.nats, replicas: 1, storage: "1Gi" },
    injector: { enabled: false, failurePolicy: "Fail" },
  },
};

/** True for one of {@link PROFILE_NAMES}. */
export function isProfileName(name: string): name is ProfileName {
  return (PROFILE_NAMES as readonly string[]).includes(name);
}
