import type { ProxyIdentity } from "../../control/compile/snapshot.ts";

/**
 * Who a workload is, in the terms Istio's metrics use: the `source_*` / `destination_*` labels.
 * Exchanged between proxies in the {@link PEER_HEADER} (see `peer-header.ts`), except `principal`,
 * which only an authenticated (mTLS) identity may set.
 */
export interface WorkloadMetadata {
  workload: string;
  namespace: string;
  app: string;
  version: string;
  canonicalService: string;
  canonicalRevision: string;
  /** Istio's cluster id; `Kubernetes` unless configured. */
  cluster: string;
}

/** Istio's default cluster id. */
export const DEFAULT_CLUSTER_ID = "Kubernetes";

/** The value Istio reports when a label cannot be known. */
export const UNKNOWN = "unknown";

/**
 * Derives a proxy's workload metadata as Istio does from pod labels: canonical service from
 * `service.istio.io/canonical-name`, `app.kubernetes.io/name`, `app`; canonical revision from
 * `service.istio.io/canonical-revision`, `app.kubernetes.io/version`, `version`, else `latest`.
 * The workload name is the middle of a `role~workload~namespace` proxy id.
 *
 * @example
 * ```ts
 * workloadMetadataOf({ id: "sidecar~reviews-v1~default", role: "sidecar", namespace: "default",
 *   labels: { app: "reviews", version: "v1" } });
 * // { workload: "reviews-v1", app: "reviews", version: "v1", canonicalService: "reviews", canonicalRevision: "v1", ... }
 * ```
 */
export function workloadMetadataOf(proxy: ProxyIdentity, cluster = DEFAULT_CLUSTER_ID): WorkloadMetadata {
  const labels = proxy.labels;
  const parts = proxy.id.split("~");
  const workload = (parts.length === 3 ? parts[1] : proxy.id) || UNKNOWN;
  const app = labels.app ?? labels["app.kubernetes.io/name"] ?? UNKNOWN;
  const version = labels.version ?? labels["app.kubernetes.io/version"] ?? UNKNOWN;
  return {
    workload,
    namespace: proxy.namespace,
    app,
    version,
    canonicalService:
      labels["service.istio.io/canonical-name"] ?? labels["app.kubernetes.io/name"] ?? labels.app ?? workload,
    canonicalRevision:
      labels["service.istio.io/canonical-revision"] ??
      labels["app.kubernetes.io/version"] ??
      labels.version ??
      "latest",
    cluster,
  };
}
