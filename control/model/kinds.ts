/**
 * The resource kinds Jibe understands, their accepted apiVersions and the short names users type
 * (`jibe get vs`). Kept free of schemas so the CLI can import it cheaply.
 */

/** Kinds Jibe validates, stores and compiles. */
export const SUPPORTED_KINDS = [
  "VirtualService",
  "DestinationRule",
  "WorkloadEntry",
  "Service",
  "AuthorizationPolicy",
  "RequestAuthentication",
  "Telemetry",
  "PeerAuthentication",
  "ServiceEntry",
  "Sidecar",
  "Gateway",
  "Ingress",
  "ConfigMap",
  "KubernetesGateway",
  "HTTPRoute",
  "ReferenceGrant",
  "GatewayClass",
  "GRPCRoute",
  "Namespace",
  "TCPRoute",
  "TLSRoute",
] as const;

/** One of {@link SUPPORTED_KINDS}. */
export type SupportedKind = (typeof SUPPORTED_KINDS)[number];

const ISTIO_NETWORKING_VERSIONS = [
  "networking.istio.io/v1",
  "networking.istio.io/v1beta1",
  "networking.istio.io/v1alpha3",
] as const;

const GATEWAY_API_VERSIONS = ["gateway.networking.k8s.io/v1", "gateway.networking.k8s.io/v1beta1"] as const;

const ISTIO_SECURITY_VERSIONS = ["security.istio.io/v1", "security.istio.io/v1beta1"] as const;

/** apiVersions accepted per supported kind; the first is the preferred one. */
export const KIND_API_VERSIONS: Readonly<Record<SupportedKind, readonly string[]>> = {
  VirtualService: ISTIO_NETWORKING_VERSIONS,
  DestinationRule: ISTIO_NETWORKING_VERSIONS,
  WorkloadEntry: ISTIO_NETWORKING_VERSIONS,
  Service: ["v1"],
  AuthorizationPolicy: ISTIO_SECURITY_VERSIONS,
  RequestAuthentication: ISTIO_SECURITY_VERSIONS,
  Telemetry: ["telemetry.istio.io/v1", "telemetry.istio.io/v1alpha1"],
  PeerAuthentication: ISTIO_SECURITY_VERSIONS,
  ServiceEntry: ISTIO_NETWORKING_VERSIONS,
  Sidecar: ISTIO_NETWORKING_VERSIONS,
  // Istio's Gateway; the Gateway API Gateway (gateway.networking.k8s.io) is the kind KubernetesGateway.
  Gateway: ISTIO_NETWORKING_VERSIONS,
  Ingress: ["networking.k8s.io/v1"],
  // Only istio-system/istio: mesh config (data.mesh), read for extensionProviders.
  ConfigMap: ["v1"],
  // Gateway API: users write `kind: Gateway`; internalKind() maps it by API group.
  KubernetesGateway: GATEWAY_API_VERSIONS,
  HTTPRoute: [...GATEWAY_API_VERSIONS, "gateway.networking.k8s.io/v1alpha2"],
  ReferenceGrant: [
    "gateway.networking.k8s.io/v1beta1",
    "gateway.networking.k8s.io/v1",
    "gateway.networking.k8s.io/v1alpha2",
  ],
  GatewayClass: GATEWAY_API_VERSIONS,
  GRPCRoute: [...GATEWAY_API_VERSIONS, "gateway.networking.k8s.io/v1alpha2"],
  // Kept for its labels (listener allowedRoutes selectors); cluster-scoped, stored as namespace "default".
  Namespace: ["v1"],
  // Experimental channel.
  TCPRoute: ["gateway.networking.k8s.io/v1alpha2"],
  TLSRoute: ["gateway.networking.k8s.io/v1alpha2", "gateway.networking.k8s.io/v1alpha3"],
};

const ALIASES: Readonly<Record<string, SupportedKind>> = {
  virtualservice: "VirtualService",
  virtualservices: "VirtualService",
  vs: "VirtualService",
  destinationrule: "DestinationRule",
  destinationrules: "DestinationRule",
  dr: "DestinationRule",
  workloadentry: "WorkloadEntry",
  workloadentries: "WorkloadEntry",
  we: "WorkloadEntry",
  service: "Service",
  services: "Service",
  svc: "Service",
  authorizationpolicy: "AuthorizationPolicy",
  authorizationpolicies: "AuthorizationPolicy",
  ap: "AuthorizationPolicy",
  requestauthentication: "RequestAuthentication",
  requestauthentications: "RequestAuthentication",
  ra: "RequestAuthentication",
  telemetry: "Telemetry",
  telemetries: "Telemetry",
  peerauthentication: "PeerAuthentication",
  peerauthentications: "PeerAuthentication",
  pa: "PeerAuthentication",
  serviceentry: "ServiceEntry",
  serviceentries: "ServiceEntry",
  se: "ServiceEntry",
  sidecar: "Sidecar",
  sidecars: "Sidecar",
  gateway: "Gateway",
  gateways: "Gateway",
  gw: "Gateway",
  ingress: "Ingress",
  ingresses: "Ingress",
  ing: "Ingress",
  configmap: "ConfigMap",
  configmaps: "ConfigMap",
  cm: "ConfigMap",
  kubernetesgateway: "KubernetesGateway",
  kubernetesgateways: "KubernetesGateway",
  gtw: "KubernetesGateway",
  httproute: "HTTPRoute",
  httproutes: "HTTPRoute",
  referencegrant: "ReferenceGrant",
  referencegrants: "ReferenceGrant",
  refgrant: "ReferenceGrant",
  gatewayclass: "GatewayClass",
  gatewayclasses: "GatewayClass",
  gc: "GatewayClass",
  grpcroute: "GRPCRoute",
  grpcroutes: "GRPCRoute",
  namespace: "Namespace",
  namespaces: "Namespace",
  ns: "Namespace",
  tcproute: "TCPRoute",
  tcproutes: "TCPRoute",
  tlsroute: "TLSRoute",
  tlsroutes: "TLSRoute",
};

/**
 * Kinds users bring from Istio, Gateway API and Kubernetes that Jibe does not handle yet,
 * mapped to their API group, so the error can say "not supported yet" instead of "unknown".
 */
export const KNOWN_UNSUPPORTED_KINDS: Readonly<Record<string, string>> = {
  WorkloadGroup: "networking.istio.io",
  EnvoyFilter: "networking.istio.io",
  ProxyConfig: "networking.istio.io",
  WasmPlugin: "extensions.istio.io",
  Endpoints: "v1",
  EndpointSlice: "discovery.k8s.io",
};

/** API groups a kind name may carry (`virtualservices.networking.istio.io`). */
const API_GROUP_SUFFIXES = [
  ".networking.istio.io",
  ".security.istio.io",
  ".telemetry.istio.io",
  ".gateway.networking.k8s.io",
];

/**
 * Resolves what a user typed to a supported kind: exact kind names, lower-case names, plurals and
 * short names (`vs`, `dr`, `we`, `svc`), optionally with the API group (`virtualservices.networking.istio.io`).
 *
 * @example
 * ```ts
 * resolveKind("vs"); // "VirtualService"
 * resolveKind("services"); // "Service"
 * resolveKind("gateway"); // undefined (not supported yet)
 * ```
 */
export function resolveKind(input: string): SupportedKind | undefined {
  const trimmed = input.trim();
  if ((SUPPORTED_KINDS as readonly string[]).includes(trimmed)) return trimmed as SupportedKind;
  const lower = trimmed.toLowerCase();
  const group = API_GROUP_SUFFIXES.find((g) => lower.endsWith(g));
  const withoutGroup = group ? lower.slice(0, -group.length) : lower;
  if (group === ".gateway.networking.k8s.io" && (withoutGroup === "gateway" || withoutGroup === "gateways"))
    return "KubernetesGateway";
  return ALIASES[withoutGroup];
}

/**
 * The kind Jibe stores a document as: the Gateway API `Gateway` (apiVersion
 * `gateway.networking.k8s.io/*`) becomes `KubernetesGateway`, so it never meets Istio's Gateway;
 * every other kind stays as written.
 *
 * @example
 * ```ts
 * internalKind("gateway.networking.k8s.io/v1", "Gateway"); // "KubernetesGateway"
 * internalKind("networking.istio.io/v1", "Gateway"); // "Gateway"
 * ```
 */
export function internalKind(apiVersion: unknown, kind: string): string {
  const gatewayApi = typeof apiVersion === "string" && apiVersion.startsWith("gateway.networking.k8s.io/");
  return gatewayApi && kind === "Gateway" ? "KubernetesGateway" : kind;
}

/** True for one of {@link SUPPORTED_KINDS}, spelled exactly. */
export function isSupportedKind(kind: string): kind is SupportedKind {
  return (SUPPORTED_KINDS as readonly string[]).includes(kind);
}
