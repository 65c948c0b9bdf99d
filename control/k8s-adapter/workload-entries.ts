import { CLUSTER_ANNOTATION, CLUSTER_LABEL, type MeshDocument } from "./mesh-documents.ts";

/** The EndpointSlice fields read (discovery.k8s.io/v1). */
export interface EndpointSliceLike {
  metadata?: { name?: string; namespace?: string };
  addressType?: string;
  endpoints?: {
    addresses?: string[];
    conditions?: { ready?: boolean | null };
    targetRef?: { kind?: string; name?: string; namespace?: string };
  }[];
  ports?: { name?: string | null; port?: number | null }[] | null;
}

/** The Pod fields read. */
export interface PodLike {
  metadata?: { name?: string; namespace?: string; labels?: Record<string, string> };
  spec?: { serviceAccountName?: string };
}

/** Annotation naming the Pod a derived WorkloadEntry stands for. */
export const POD_ANNOTATION = "jibe.dev/pod";

/**
 * The WorkloadEntries standing for the ready Pod endpoints of a namespace's EndpointSlices (pure).
 *
 * Why WorkloadEntries: the compiler already selects a Service's endpoints as the WorkloadEntries whose
 * labels match its selector, with `ports` keyed by Service port name, which is exactly what an
 * EndpointSlice says (its port names are the Service's). So proxies learn one small resource per Pod,
 * and compile, validation and the bus stay unchanged. One entry per Pod (not per slice endpoint): a Pod
 * behind several Services is one endpoint with the union of their ports, never a duplicate.
 *
 * Named `<pod>.<cluster>` so Pods of several clusters never collide; labelled with the Pod's labels plus
 * `topology.istio.io/cluster`; endpoints not ready (`conditions.ready: false`), without a Pod
 * `targetRef`, or whose Pod is not known yet are left out. IPv4 addresses win over IPv6.
 *
 * @example
 * ```ts
 * deriveWorkloadEntries(slices, (ns, name) => podCache.get(name, ns), "east");
 * // [{ kind: "WorkloadEntry", metadata: { name: "reviews-v1-0.east", ... }, spec: { address: "10.244.1.7", ports: { http: 9080 }, labels } }]
 * ```
 */
export function deriveWorkloadEntries(
  slices: Iterable<EndpointSliceLike>,
  podOf: (namespace: string, name: string) => PodLike | undefined,
  cluster: string,
): MeshDocument[] {
  const byPod = new Map<
    string,
    { pod: PodLike; namespace: string; v4?: string; v6?: string; ports: Record<string, number> }
  >();
  for (const slice of slices) {
    const family = slice.addressType === "IPv4" ? "v4" : slice.addressType === "IPv6" ? "v6" : undefined;
    if (!family) continue; // FQDN slices name hosts, not workloads
    const namespace = slice.metadata?.namespace ?? "default";
    for (const endpoint of slice.endpoints ?? []) {
      const ref = endpoint.targetRef;
      const address = endpoint.addresses?.[0];
      if (endpoint.conditions?.ready === false || ref?.kind !== "Pod" || !ref.name || !address) continue;
      const pod = podOf(ref.namespace ?? namespace, ref.name);
      if (!pod) continue;
      const key = `${ref.namespace ?? namespace}/${ref.name}`;
      const entry = byPod.get(key) ?? { pod, namespace: ref.namespace ?? namespace, ports: {} };
      entry[family] ??= address;
      for (const port of slice.ports ?? []) {
        if (port.name && typeof port.port === "number") entry.ports[port.name] = port.port;
      }
      byPod.set(key, entry);
    }
  }
  return [...byPod.values()]
    .map(({ pod, namespace, v4, v6, ports }): MeshDocument => {
      const podName = pod.metadata?.name ?? "";
      const serviceAccount = pod.spec?.serviceAccountName;
      return {
        apiVersion: "networking.istio.io/v1",
        kind: "WorkloadEntry",
        metadata: {
          name: `${podName}.${cluster}`,
          namespace,
          annotations: { [CLUSTER_ANNOTATION]: cluster, [POD_ANNOTATION]: podName },
        },
        spec: {
          address: v4 ?? v6,
          labels: { ...(pod.metadata?.labels ?? {}), [CLUSTER_LABEL]: cluster },
          ...(Object.keys(ports).length > 0 ? { ports: sortKeys(ports) } : {}),
          ...(serviceAccount ? { serviceAccount } : {}),
        },
      };
    })
    .sort((a, b) => (a.metadata.name < b.metadata.name ? -1 : 1));
}

function sortKeys(record: Record<string, number>): Record<string, number> {
  return Object.fromEntries(Object.entries(record).sort(([a], [b]) => (a < b ? -1 : 1)));
}
