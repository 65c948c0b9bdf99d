/**
 * The API resources the double serves, as kube-apiserver's discovery would describe them.
 * Istio kinds are served at v1, v1beta1 and v1alpha3 from one storage (CRD conversion `None`:
 * only `apiVersion` changes), as a cluster with Istio's CRDs does.
 */
export interface ResourceType {
  /** "" for the core group. */
  group: string;
  /** Served versions; the first is the storage version. */
  versions: readonly string[];
  plural: string;
  kind: string;
  namespaced: boolean;
  /** Has a status subresource: the main endpoint ignores `status`, `/status` changes only `status`. */
  statusSubresource: boolean;
}

const ISTIO_VERSIONS = ["v1", "v1beta1", "v1alpha3"] as const;

export const RESOURCE_TYPES: readonly ResourceType[] = [
  {
    group: "",
    versions: ["v1"],
    plural: "namespaces",
    kind: "Namespace",
    namespaced: false,
    statusSubresource: true,
  },
  {
    group: "",
    versions: ["v1"],
    plural: "services",
    kind: "Service",
    namespaced: true,
    statusSubresource: true,
  },
  { group: "", versions: ["v1"], plural: "pods", kind: "Pod", namespaced: true, statusSubresource: true },
  {
    group: "",
    versions: ["v1"],
    plural: "events",
    kind: "Event",
    namespaced: true,
    statusSubresource: false,
  },
  {
    group: "discovery.k8s.io",
    versions: ["v1"],
    plural: "endpointslices",
    kind: "EndpointSlice",
    namespaced: true,
    statusSubresource: false,
  },
  {
    group: "apps",
    versions: ["v1"],
    plural: "deployments",
    kind: "Deployment",
    namespaced: true,
    statusSubresource: true,
  },
  {
    group: "",
    versions: ["v1"],
    plural: "serviceaccounts",
    kind: "ServiceAccount",
    namespaced: true,
    statusSubresource: false,
  },
  ...(["virtualservices", "destinationrules", "workloadentries"] as const).map(
    (plural): ResourceType => ({
      group: "networking.istio.io",
      versions: ISTIO_VERSIONS,
      plural,
      kind: {
        virtualservices: "VirtualService",
        destinationrules: "DestinationRule",
        workloadentries: "WorkloadEntry",
      }[plural],
      namespaced: true,
      statusSubresource: true,
    }),
  ),
];

/** `group/plural`, the identity of a resource type whatever version it is read at. */
export function typeKey(type: Pick<ResourceType, "group" | "plural">): string {
  return `${type.group}/${type.plural}`;
}

/** `v1` or `group/version`. */
export function apiVersionOf(group: string, version: string): string {
  return group === "" ? version : `${group}/${version}`;
}

/** The type a manifest's `apiVersion` + `kind` names, if served. */
export function typeForKind(apiVersion: string, kind: string): ResourceType | undefined {
  const [group, version] = apiVersion.includes("/") ? apiVersion.split("/") : ["", apiVersion];
  return RESOURCE_TYPES.find(
    (t) => t.kind === kind && t.group === group && t.versions.includes(version ?? ""),
  );
}

/** The served type of a kind (kinds are unique among the types the double serves). */
export function resourceType(kind: string): ResourceType {
  const type = RESOURCE_TYPES.find((t) => t.kind === kind);
  if (!type) throw new Error(`the double does not serve kind ${kind}`);
  return type;
}
