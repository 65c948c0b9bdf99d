/**
 * Kubernetes objects → the documents the control plane applies (pure). Only what the mesh uses is
 * carried: server-set metadata, `status` and kubectl's last-applied copy are dropped, and every
 * document is marked with the cluster it came from.
 */

/** Annotation naming the cluster a published resource came from (and which adapter owns it). */
export const CLUSTER_ANNOTATION = "jibe.dev/cluster";

/** Istio's workload label for the cluster; set on derived WorkloadEntries so policy can select by it. */
export const CLUSTER_LABEL = "topology.istio.io/cluster";

/** The Kubernetes shape the adapter reads: both typed client objects and raw watch JSON fit it. */
export interface KubeObjectLike {
  apiVersion?: string;
  kind?: string;
  metadata?: {
    name?: string;
    namespace?: string;
    uid?: string;
    resourceVersion?: string;
    generation?: number;
    labels?: Record<string, string>;
    annotations?: Record<string, string>;
  };
  spec?: unknown;
  status?: unknown;
}

/** A document for `ControlPlane.apply`; validated there (and by the adapter before). */
export interface MeshDocument {
  apiVersion: string;
  kind: string;
  metadata: {
    name: string;
    namespace: string;
    labels?: Record<string, string>;
    annotations: Record<string, string>;
  };
  spec: unknown;
}

/** Kinds published as they are (after trimming); EndpointSlices and Pods become WorkloadEntries instead. */
export const PUBLISHED_KINDS = {
  VirtualService: "networking.istio.io/v1",
  DestinationRule: "networking.istio.io/v1",
  WorkloadEntry: "networking.istio.io/v1",
  ServiceEntry: "networking.istio.io/v1",
  Sidecar: "networking.istio.io/v1",
  Gateway: "networking.istio.io/v1",
  Service: "v1",
  Ingress: "networking.k8s.io/v1",
  KubernetesGateway: "gateway.networking.k8s.io/v1",
  HTTPRoute: "gateway.networking.k8s.io/v1",
  GRPCRoute: "gateway.networking.k8s.io/v1",
  TCPRoute: "gateway.networking.k8s.io/v1alpha2",
  TLSRoute: "gateway.networking.k8s.io/v1alpha2",
  // Labels only (listener allowedRoutes selectors); cluster-scoped, published as namespace "default".
  Namespace: "v1",
  ReferenceGrant: "gateway.networking.k8s.io/v1beta1",
} as const;

/** The ingress class Jibe serves: `spec.ingressClassName`, or the older annotation. */
export const INGRESS_CLASS = "jibe";

/**
 * Whether the mesh should see this object at all: Ingresses only of class `jibe` (other controllers
 * own the rest); every other published kind always.
 *
 * @example
 * ```ts
 * isServedByJibe("Ingress", { spec: { ingressClassName: "nginx" } }); // false
 * ```
 */
export function isServedByJibe(kind: PublishedKind, object: KubeObjectLike): boolean {
  if (kind !== "Ingress") return true;
  const className = (object.spec as { ingressClassName?: string } | undefined)?.ingressClassName;
  return (className ?? object.metadata?.annotations?.["kubernetes.io/ingress.class"]) === INGRESS_CLASS;
}

/** The kind a document carries on the wire (`KubernetesGateway` is the Gateway API's `Gateway`). */
export function wireKind(kind: PublishedKind): string {
  return kind === "KubernetesGateway" ? "Gateway" : kind;
}

export type PublishedKind = keyof typeof PUBLISHED_KINDS;

const DROPPED_ANNOTATIONS = ["kubectl.kubernetes.io/last-applied-configuration"];

/**
 * The document to apply for one watched object of a {@link PublishedKind}.
 *
 * @example
 * ```ts
 * toMeshDocument("Service", svcFromInformer, "east").metadata.annotations; // { "jibe.dev/cluster": "east" }
 * ```
 */
export function toMeshDocument(kind: PublishedKind, object: KubeObjectLike, cluster: string): MeshDocument {
  const meta = object.metadata ?? {};
  const annotations: Record<string, string> = {};
  for (const [key, value] of Object.entries(meta.annotations ?? {})) {
    if (!DROPPED_ANNOTATIONS.includes(key)) annotations[key] = value;
  }
  annotations[CLUSTER_ANNOTATION] = cluster;
  return {
    apiVersion: PUBLISHED_KINDS[kind],
    kind: wireKind(kind),
    metadata: {
      name: meta.name ?? "",
      namespace: meta.namespace ?? "default",
      ...(meta.labels && Object.keys(meta.labels).length > 0 ? { labels: { ...meta.labels } } : {}),
      annotations,
    },
    spec: kind === "Service" ? serviceSpec(object.spec) : kind === "Namespace" ? {} : (object.spec ?? {}),
  };
}

/**
 * The part of a ServiceSpec the mesh reads. Cluster-assigned fields (clusterIP, ipFamilies...) change
 * nothing for routing and would make every API-server version bump a new mesh revision.
 */
function serviceSpec(raw: unknown): object {
  const spec = (raw ?? {}) as {
    selector?: Record<string, string>;
    ports?: {
      name?: string;
      port?: number;
      targetPort?: number | string;
      protocol?: string;
      appProtocol?: string;
    }[];
    type?: string;
    externalName?: string;
  };
  return {
    ...(spec.selector ? { selector: { ...spec.selector } } : {}),
    ...(spec.type ? { type: spec.type } : {}),
    ...(spec.externalName ? { externalName: spec.externalName } : {}),
    ports: (spec.ports ?? []).map((p) => ({
      ...(p.name ? { name: p.name } : {}),
      port: p.port,
      ...(p.targetPort !== undefined ? { targetPort: p.targetPort } : {}),
      ...(p.protocol ? { protocol: p.protocol } : {}),
      ...(p.appProtocol ? { appProtocol: p.appProtocol } : {}),
    })),
  };
}
