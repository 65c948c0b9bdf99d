import {
  ApiException,
  CoreV1Api,
  CustomObjectsApi,
  DiscoveryV1Api,
  KubeConfig,
  type KubeConfig as KubeConfigType,
  type KubernetesObject,
  ListWatch,
  NetworkingV1Api,
  Watch,
} from "@kubernetes/client-node";
import type { KubeObjectLike } from "./mesh-documents.ts";

/** The kinds the adapter watches, with their all-namespaces path (what the informer lists and watches). */
export const WATCHED_KINDS = {
  VirtualService: { group: "networking.istio.io", version: "v1", plural: "virtualservices" },
  DestinationRule: { group: "networking.istio.io", version: "v1", plural: "destinationrules" },
  WorkloadEntry: { group: "networking.istio.io", version: "v1", plural: "workloadentries" },
  ServiceEntry: { group: "networking.istio.io", version: "v1", plural: "serviceentries" },
  Sidecar: { group: "networking.istio.io", version: "v1", plural: "sidecars" },
  // Istio's Gateway (networking.istio.io), not the Gateway API's (KubernetesGateway below).
  Gateway: { group: "networking.istio.io", version: "v1", plural: "gateways" },
  Service: { group: "", version: "v1", plural: "services" },
  EndpointSlice: { group: "discovery.k8s.io", version: "v1", plural: "endpointslices" },
  Pod: { group: "", version: "v1", plural: "pods" },
  Namespace: { group: "", version: "v1", plural: "namespaces" },
  Ingress: { group: "networking.k8s.io", version: "v1", plural: "ingresses" },
  // The Gateway API's Gateway; `KubernetesGateway` in the mesh model, so it never meets Istio's Gateway.
  KubernetesGateway: { group: "gateway.networking.k8s.io", version: "v1", plural: "gateways" },
  HTTPRoute: { group: "gateway.networking.k8s.io", version: "v1", plural: "httproutes" },
  GRPCRoute: { group: "gateway.networking.k8s.io", version: "v1", plural: "grpcroutes" },
  // Experimental channel: a cluster with only the standard CRDs answers 404 (looked for again now and then).
  TCPRoute: { group: "gateway.networking.k8s.io", version: "v1alpha2", plural: "tcproutes" },
  TLSRoute: { group: "gateway.networking.k8s.io", version: "v1alpha2", plural: "tlsroutes" },
  ReferenceGrant: { group: "gateway.networking.k8s.io", version: "v1beta1", plural: "referencegrants" },
  // Cluster-scoped; read only to tell which Gateways are Jibe's (controllerName jibe.dev/gateway-controller).
  GatewayClass: { group: "gateway.networking.k8s.io", version: "v1", plural: "gatewayclasses" },
} as const;

export type WatchedKind = keyof typeof WATCHED_KINDS;

/** Where the adapter finds its cluster. */
export interface KubeConfigSource {
  /** Path of a kubeconfig file. */
  kubeconfig?: string;
  /** Use the Pod's service account (`/var/run/secrets/kubernetes.io/serviceaccount`). */
  inCluster?: boolean;
  /** Context to use instead of the kubeconfig's current one. */
  context?: string;
}

/**
 * Loads a kubeconfig: the file given, the in-cluster service account, or kubectl's defaults
 * (`$KUBECONFIG`, `~/.kube/config`, then in-cluster).
 *
 * @example
 * ```ts
 * const kc = loadKubeConfig({ inCluster: true });
 * ```
 */
export function loadKubeConfig(source: KubeConfigSource = {}): KubeConfigType {
  const kc = new KubeConfig();
  if (source.inCluster) kc.loadFromCluster();
  else if (source.kubeconfig) kc.loadFromFile(source.kubeconfig);
  else kc.loadFromDefault();
  if (source.context) kc.setCurrentContext(source.context);
  return kc;
}

/**
 * A Watch that asks for bookmarks and a server-side timeout, as client-go's reflector does, so a
 * resumed watch starts from the latest revision the server vouched for (fewer 410 Gone relists)
 * and a silently dead connection is replaced at least every `timeoutSeconds`.
 */
class BookmarkingWatch extends Watch {
  readonly timeoutSeconds: number;
  constructor(config: KubeConfigType, timeoutSeconds: number) {
    super(config);
    this.timeoutSeconds = timeoutSeconds;
  }
  override watch(...[path, query, callback, done]: Parameters<Watch["watch"]>): Promise<AbortController> {
    const jitter = Math.floor(this.timeoutSeconds * Math.random());
    return super.watch(
      path,
      { ...query, allowWatchBookmarks: true, timeoutSeconds: this.timeoutSeconds + jitter },
      callback,
      done,
    );
  }
}

/** The Istio kinds whose `status` the adapter writes (`Accepted` condition). */
export type IstioStatusKind =
  | "VirtualService"
  | "DestinationRule"
  | "WorkloadEntry"
  | "ServiceEntry"
  | "Sidecar"
  | "Gateway";

/** Every kind whose `status` the adapter writes: the Istio kinds and the Gateway API's Gateway and routes. */
export type StatusKind =
  | IstioStatusKind
  | "KubernetesGateway"
  | "HTTPRoute"
  | "GRPCRoute"
  | "TCPRoute"
  | "TLSRoute";

/** The Kubernetes calls the adapter makes. */
export interface KubeApi {
  /** client-node's informer (list, then watch; relists on 410 Gone) for one kind, not started. */
  informer(kind: WatchedKind): ListWatch<KubernetesObject>;
  /** Replaces `status` of an object (`object` carries the resourceVersion it was read at). */
  replaceStatus(kind: StatusKind, object: KubeObjectLike): Promise<void>;
  /** Records a core v1 Event about `object`. */
  createEvent(event: KubeEventInput): Promise<void>;
}

export interface KubeEventInput {
  involved: { apiVersion: string; kind: string; object: KubeObjectLike };
  type: "Normal" | "Warning";
  reason: string;
  message: string;
  component: string;
  instance: string;
}

/**
 * The {@link KubeApi} of one cluster. `watchTimeoutSeconds` is the base server-side watch timeout
 * (jittered up to twice that, as client-go does).
 */
export function createKubeApi(kc: KubeConfigType, opts: { watchTimeoutSeconds?: number } = {}): KubeApi {
  const core = kc.makeApiClient(CoreV1Api);
  const discovery = kc.makeApiClient(DiscoveryV1Api);
  const custom = kc.makeApiClient(CustomObjectsApi);
  const networking = kc.makeApiClient(NetworkingV1Api);
  const watch = new BookmarkingWatch(kc, opts.watchTimeoutSeconds ?? 300);
  const lists: Record<
    WatchedKind,
    () => Promise<{ items: KubernetesObject[]; metadata?: { resourceVersion?: string } }>
  > = {
    VirtualService: () => custom.listCustomObjectForAllNamespaces(WATCHED_KINDS.VirtualService),
    DestinationRule: () => custom.listCustomObjectForAllNamespaces(WATCHED_KINDS.DestinationRule),
    WorkloadEntry: () => custom.listCustomObjectForAllNamespaces(WATCHED_KINDS.WorkloadEntry),
    ServiceEntry: () => custom.listCustomObjectForAllNamespaces(WATCHED_KINDS.ServiceEntry),
    Sidecar: () => custom.listCustomObjectForAllNamespaces(WATCHED_KINDS.Sidecar),
    Gateway: () => custom.listCustomObjectForAllNamespaces(WATCHED_KINDS.Gateway),
    Service: () => core.listServiceForAllNamespaces(),
    EndpointSlice: () => discovery.listEndpointSliceForAllNamespaces(),
    Pod: () => core.listPodForAllNamespaces(),
    Namespace: () => core.listNamespace(),
    Ingress: () => networking.listIngressForAllNamespaces(),
    KubernetesGateway: () => custom.listCustomObjectForAllNamespaces(WATCHED_KINDS.KubernetesGateway),
    HTTPRoute: () => custom.listCustomObjectForAllNamespaces(WATCHED_KINDS.HTTPRoute),
    GRPCRoute: () => custom.listCustomObjectForAllNamespaces(WATCHED_KINDS.GRPCRoute),
    TCPRoute: () => custom.listCustomObjectForAllNamespaces(WATCHED_KINDS.TCPRoute),
    TLSRoute: () => custom.listCustomObjectForAllNamespaces(WATCHED_KINDS.TLSRoute),
    ReferenceGrant: () => custom.listCustomObjectForAllNamespaces(WATCHED_KINDS.ReferenceGrant),
    GatewayClass: () => custom.listClusterCustomObject(WATCHED_KINDS.GatewayClass),
  };
  return {
    informer(kind) {
      const { group, version, plural } = WATCHED_KINDS[kind];
      const path = group === "" ? `/api/${version}/${plural}` : `/apis/${group}/${version}/${plural}`;
      return new ListWatch(path, watch, lists[kind], false);
    },
    async replaceStatus(kind, object) {
      const { group, version, plural } = WATCHED_KINDS[kind];
      await custom.replaceNamespacedCustomObjectStatus({
        group,
        version,
        plural,
        namespace: object.metadata?.namespace ?? "default",
        name: object.metadata?.name ?? "",
        body: {
          ...object,
          apiVersion: `${group}/${version}`,
          kind: kind === "KubernetesGateway" ? "Gateway" : kind,
        },
      });
    },
    async createEvent(input) {
      const meta = input.involved.object.metadata ?? {};
      const now = new Date();
      await core.createNamespacedEvent({
        namespace: meta.namespace ?? "default",
        body: {
          metadata: { generateName: `${meta.name}.`, namespace: meta.namespace ?? "default" },
          involvedObject: {
            apiVersion: input.involved.apiVersion,
            kind: input.involved.kind,
            name: meta.name ?? "",
            namespace: meta.namespace ?? "default",
            ...(meta.uid ? { uid: meta.uid } : {}),
            ...(meta.resourceVersion ? { resourceVersion: meta.resourceVersion } : {}),
          },
          type: input.type,
          reason: input.reason,
          message: input.message,
          source: { component: input.component },
          reportingComponent: input.component,
          reportingInstance: input.instance,
          firstTimestamp: now,
          lastTimestamp: now,
          count: 1,
        },
      });
    },
  };
}

/** The HTTP status of a failed Kubernetes call, if it got an answer. */
export function kubeStatusCode(error: unknown): number | undefined {
  return error instanceof ApiException ? error.code : undefined;
}
