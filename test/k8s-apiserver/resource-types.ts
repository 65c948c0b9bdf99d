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
  {
    group: "",
    versions: ["v1"],
    plural: "secrets",
    kind: "Secret",
    namespaced: true,
    statusSubresource: false,
  },
  ...(
    [
      ["roles", "Role"],
      ["rolebindings", "RoleBinding"],
    ] as const
  ).map(
    ([plural, kind]): ResourceType => ({
      group: "rbac.authorization.k8s.io",
      versions: ["v1"],
      plural,
      kind,
      namespaced: true,
      statusSubresource: false,
    }),
  ),
  {
    group: "",
    versions: ["v1"],
    plural: "configmaps",
    kind: "ConfigMap",
    namespaced: true,
    statusSubresource: false,
  },
  {
    group: "apps",
    versions: ["v1"],
    plural: "statefulsets",
    kind: "StatefulSet",
    namespaced: true,
    statusSubresource: true,
  },
  ...(
    [
      ["rbac.authorization.k8s.io", "clusterroles", "ClusterRole"],
      ["rbac.authorization.k8s.io", "clusterrolebindings", "ClusterRoleBinding"],
      ["apiextensions.k8s.io", "customresourcedefinitions", "CustomResourceDefinition"],
      ["admissionregistration.k8s.io", "mutatingwebhookconfigurations", "MutatingWebhookConfiguration"],
    ] as const
  ).map(
    ([group, plural, kind]): ResourceType => ({
      group,
      versions: ["v1"],
      plural,
      kind,
      namespaced: false,
      statusSubresource: kind === "CustomResourceDefinition",
    }),
  ),
  {
    group: "networking.k8s.io",
    versions: ["v1"],
    plural: "ingresses",
    kind: "Ingress",
    namespaced: true,
    statusSubresource: true,
  },
  // Gateway API (standard channel CRDs): served versions as the v1.2 CRDs declare them.
  {
    group: "gateway.networking.k8s.io",
    versions: ["v1", "v1beta1"],
    plural: "gatewayclasses",
    kind: "GatewayClass",
    namespaced: false,
    statusSubresource: true,
  },
  ...(
    [
      ["gateways", "Gateway", ["v1", "v1beta1"]],
      ["httproutes", "HTTPRoute", ["v1", "v1beta1"]],
      ["grpcroutes", "GRPCRoute", ["v1"]],
      ["tcproutes", "TCPRoute", ["v1alpha2"]],
      ["tlsroutes", "TLSRoute", ["v1alpha2", "v1alpha3"]],
      ["referencegrants", "ReferenceGrant", ["v1beta1"]],
    ] as const
  ).map(
    ([plural, kind, versions]): ResourceType => ({
      group: "gateway.networking.k8s.io",
      versions,
      plural,
      kind,
      namespaced: true,
      statusSubresource: kind !== "ReferenceGrant",
    }),
  ),
  ...(
    [
      "virtualservices",
      "destinationrules",
      "workloadentries",
      "serviceentries",
      "sidecars",
      "gateways",
    ] as const
  ).map(
    (plural): ResourceType => ({
      group: "networking.istio.io",
      versions: ISTIO_VERSIONS,
      plural,
      kind: {
        virtualservices: "VirtualService",
        destinationrules: "DestinationRule",
        workloadentries: "WorkloadEntry",
        serviceentries: "ServiceEntry",
        sidecars: "Sidecar",
        gateways: "Gateway",
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

/** The served type of a kind; a kind two groups serve (`Gateway`) must be looked up with {@link typeForKind}. */
export function resourceType(kind: string): ResourceType {
  const types = RESOURCE_TYPES.filter((t) => t.kind === kind);
  if (types.length > 1)
    throw new Error(`kind ${kind} is served by several groups; use typeForKind(apiVersion, kind)`);
  const [type] = types;
  if (!type) throw new Error(`the double does not serve kind ${kind}`);
  return type;
}

/**
 * kube-apiserver's discovery document for one group/version (`GET /api/v1`, `GET /apis/<group>/<version>`),
 * what generic clients (client-node's KubernetesObjectApi, kubectl) read to find a kind's plural and scope.
 */
export function discoveryDocument(group: string, version: string): object | undefined {
  const types = RESOURCE_TYPES.filter((t) => t.group === group && t.versions.includes(version));
  if (types.length === 0) return undefined;
  return {
    kind: "APIResourceList",
    apiVersion: "v1",
    groupVersion: apiVersionOf(group, version),
    resources: types.flatMap((t) => [
      {
        name: t.plural,
        singularName: t.kind.toLowerCase(),
        namespaced: t.namespaced,
        kind: t.kind,
        verbs: ["create", "delete", "get", "list", "patch", "update", "watch"],
      },
      ...(t.statusSubresource
        ? [
            {
              name: `${t.plural}/status`,
              singularName: "",
              namespaced: t.namespaced,
              kind: t.kind,
              verbs: ["get", "patch", "update"],
            },
          ]
        : []),
    ]),
  };
}
