import type { StoredResource } from "../../broker/events.ts";
import type { DestinationRuleSpec } from "../model/destination-rule.ts";
import type { GatewaySpec } from "../model/gateway.ts";
import { type IngressSpec, isJibeIngress } from "../model/ingress.ts";
import { MESH_CONFIG_MAP } from "../model/mesh-config.ts";
import type { ServicePort, ServiceSpec } from "../model/service.ts";
import type { ServiceEntrySpec } from "../model/service-entry.ts";
import type { SidecarSpec } from "../model/sidecar.ts";
import { MESH_GATEWAY, type VirtualServiceSpec } from "../model/virtual-service.ts";
import type { WorkloadEntrySpec } from "../model/workload-entry.ts";
import {
  addGatewayApiResource,
  emptyGatewayApiIndex,
  finishGatewayApiIndex,
  type GatewayApiIndex,
  gatewayApiTokens,
} from "./gateway-api-index.ts";
import { resolveHost, serviceFqdn } from "./host-names.ts";
import { type ServiceEntryService, type ServiceEntryView, serviceEntryServices } from "./service-entries.ts";
import { type IgnoredEntry, selectServiceEntryHosts } from "./service-entry-hosts.ts";

/** A validated resource with what every step needs to name and order it. */
export interface Indexed<S> {
  /** Key in the resource map (the config-store key). */
  key: string;
  /** `Kind/namespace/name`, for diagnostics and route origins. */
  ref: string;
  name: string;
  namespace: string;
  /** Creation time (ISO) or "" when unknown; Istio orders conflicting config by it. */
  created: string;
  spec: S;
}

export interface IndexedService extends Indexed<ServiceSpec> {
  fqdn: string;
  ports: ServicePort[];
  /** Set when the service is a host of a ServiceEntry (`fqdn` is that host). */
  entry?: ServiceEntryView;
  /** ServiceEntries of the same host this service made the proxy ignore (warned as JIBE2050). */
  ignoredEntries?: IgnoredEntry[];
}

export interface IndexedDestinationRule extends Indexed<DestinationRuleSpec> {
  /** Host resolved against the rule's namespace. */
  host: string;
}

export interface IndexedVirtualService extends Indexed<VirtualServiceSpec> {
  /** Hosts resolved against the VirtualService's namespace. */
  hosts: string[];
  /** Gateways as `namespace/name`, or `mesh`; `["mesh"]` when the spec lists none. */
  gateways: string[];
}

/** Lookups over one resource set; rebuilt on every update (cheap), never mutated after. */
export interface ResourceIndex {
  services: Map<string, IndexedService>;
  workloadEntries: Map<string, Indexed<WorkloadEntrySpec>[]>;
  destinationRules: Map<string, IndexedDestinationRule[]>;
  wildcardDestinationRules: IndexedDestinationRule[];
  virtualServices: Map<string, IndexedVirtualService[]>;
  /** Sidecar resources, oldest first. */
  sidecars: Indexed<SidecarSpec>[];
  /** Istio Gateways by `namespace/name`. */
  gateways: Map<string, Indexed<GatewaySpec>>;
  /** Ingresses whose class is Jibe's, oldest first (others are not ours and are left out). */
  ingresses: Indexed<IngressSpec>[];
  /** `data` of the mesh config ConfigMap (`istio-system/istio`), when there is one. */
  meshConfigData?: Record<string, string>;
  /** Gateway API Gateways (KubernetesGateway), HTTPRoutes and ReferenceGrants. */
  gatewayApi: GatewayApiIndex;
}

/** Istio's order for conflicting config: creation time, then namespace, then name. */
export function byCreation(a: Indexed<unknown>, b: Indexed<unknown>): number {
  return compare(a.created, b.created) || compare(a.namespace, b.namespace) || compare(a.name, b.name);
}

function compare(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

function indexed<S>(key: string, resource: StoredResource): Indexed<S> {
  const { name, namespace, creationTimestamp } = resource.metadata;
  return {
    key,
    ref: `${resource.kind}/${namespace}/${name}`,
    name,
    namespace,
    created: creationTimestamp ?? "",
    spec: resource.spec as S,
  };
}

/** Resolves a VirtualService `gateways` entry to `namespace/name` (or `mesh`), as Istio does. */
export function resolveGatewayName(gateway: string, namespace: string): string {
  if (gateway === MESH_GATEWAY || gateway.includes("/")) return gateway;
  if (gateway.includes(".")) {
    const [name, ns] = gateway.split(".");
    return `${ns}/${name}`;
  }
  return `${namespace}/${gateway}`;
}

/**
 * Indexes validated resources (kinds the compiler does not use must be filtered out before).
 *
 * @example
 * ```ts
 * const index = buildResourceIndex([["Service/default/reviews", reviewsService]], "cluster.local");
 * index.services.get("reviews.default.svc.cluster.local");
 * ```
 */
export function buildResourceIndex(
  entries: Iterable<[string, StoredResource]>,
  suffix: string,
  /** The proxy's namespace: ServiceEntries of one host are picked as its sidecar scope would. */
  proxyNamespace?: string,
): ResourceIndex {
  const index: ResourceIndex = {
    services: new Map(),
    workloadEntries: new Map(),
    destinationRules: new Map(),
    wildcardDestinationRules: [],
    virtualServices: new Map(),
    sidecars: [],
    gateways: new Map(),
    ingresses: [],
    gatewayApi: emptyGatewayApiIndex(),
  };
  const serviceEntryHosts: ServiceEntryService[] = [];
  for (const [key, resource] of entries) {
    const { namespace } = resource.metadata;
    switch (resource.kind) {
      case "Service": {
        const base = indexed<ServiceSpec>(key, resource);
        const fqdn = serviceFqdn(base.name, namespace, suffix);
        index.services.set(fqdn, { ...base, fqdn, ports: base.spec.ports ?? [] });
        break;
      }
      case "WorkloadEntry":
        push(index.workloadEntries, namespace, indexed<WorkloadEntrySpec>(key, resource));
        break;
      case "DestinationRule": {
        const base = indexed<DestinationRuleSpec>(key, resource);
        const host = resolveHost(base.spec.host, namespace, suffix);
        if (host.includes("*")) index.wildcardDestinationRules.push({ ...base, host });
        else push(index.destinationRules, host, { ...base, host });
        break;
      }
      case "VirtualService": {
        const base = indexed<VirtualServiceSpec>(key, resource);
        const hosts = [...new Set((base.spec.hosts ?? []).map((h) => resolveHost(h, namespace, suffix)))];
        const listed = base.spec.gateways ?? [];
        const gateways =
          listed.length === 0 ? [MESH_GATEWAY] : listed.map((g) => resolveGatewayName(g, namespace));
        const vs = { ...base, hosts, gateways };
        for (const host of hosts) push(index.virtualServices, host, vs);
        break;
      }
      case "ServiceEntry":
        serviceEntryHosts.push(...serviceEntryServices(key, resource));
        break;
      case "Sidecar":
        index.sidecars.push(indexed<SidecarSpec>(key, resource));
        break;
      case "Gateway":
        index.gateways.set(`${namespace}/${resource.metadata.name}`, indexed<GatewaySpec>(key, resource));
        break;
      case "Ingress":
        if (isJibeIngress(resource.spec as IngressSpec, resource.metadata))
          index.ingresses.push(indexed<IngressSpec>(key, resource));
        break;
      case "ConfigMap":
        if (namespace === MESH_CONFIG_MAP.namespace && resource.metadata.name === MESH_CONFIG_MAP.name)
          index.meshConfigData = resource.spec as Record<string, string>;
        break;
      case "KubernetesGateway":
      case "HTTPRoute":
      case "GRPCRoute":
      case "TCPRoute":
      case "TLSRoute":
      case "ReferenceGrant":
        addGatewayApiResource(index.gatewayApi, resource.kind, indexed(key, resource));
        break;
      case "Namespace":
        index.gatewayApi.namespaceLabels.set(resource.metadata.name, resource.metadata.labels ?? {});
        break;
      default:
        break;
    }
  }
  // A Kubernetes Service of the same name wins, as Istio prefers it (no "domain squatting" by a
  // ServiceEntry); entries of one host are picked and merged as Istio's sidecar scope does.
  for (const service of selectServiceEntryHosts(serviceEntryHosts.sort(byCreation), proxyNamespace)) {
    const kubernetes = index.services.get(service.fqdn);
    if (!kubernetes) index.services.set(service.fqdn, service);
    else
      index.services.set(service.fqdn, {
        ...kubernetes,
        ignoredEntries: [
          service.ref,
          ...(service.entry.merged ?? []),
          ...(service.ignoredEntries ?? []).map((e) => e.ref),
        ].map((ref) => ({
          ref,
          reason: `host ${service.fqdn} is the Kubernetes ${kubernetes.ref}, which Istio prefers over ServiceEntries; this ServiceEntry is ignored for it: rename the host, or delete the entry`,
        })),
      });
  }
  finishGatewayApiIndex(index.gatewayApi);
  index.sidecars.sort(byCreation);
  index.ingresses.sort(byCreation);
  for (const list of index.workloadEntries.values()) list.sort((a, b) => compare(a.ref, b.ref));
  for (const list of index.destinationRules.values()) list.sort(byCreation);
  index.wildcardDestinationRules.sort(byCreation);
  for (const list of index.virtualServices.values()) list.sort(byCreation);
  return index;
}

function push<T>(map: Map<string, T[]>, key: string, value: T): void {
  const list = map.get(key);
  if (list) list.push(value);
  else map.set(key, [value]);
}

/**
 * The dependency tokens a resource produces: a compiled unit that read token T must be rebuilt
 * when a resource producing T changes. `dr:*` / `vs:*` stand for any wildcard-host rule.
 */
export function resourceTokens(resource: StoredResource, suffix: string): string[] {
  const { name, namespace } = resource.metadata;
  switch (resource.kind) {
    case "Service":
      return [`svc:${serviceFqdn(name, namespace, suffix)}`];
    case "WorkloadEntry":
      return [`we:${namespace}`];
    case "DestinationRule": {
      const host = resolveHost((resource.spec as DestinationRuleSpec).host, namespace, suffix);
      return [host.includes("*") ? "dr:*" : `dr:${host}`];
    }
    case "VirtualService": {
      const hosts = ((resource.spec as VirtualServiceSpec).hosts ?? []).map((h) =>
        resolveHost(h, namespace, suffix),
      );
      return hosts.flatMap((h) => (h.includes("*") ? [`vs:${h}`, "vs:*"] : [`vs:${h}`]));
    }
    case "ServiceEntry":
      return ((resource.spec as ServiceEntrySpec).hosts ?? []).map((h) => `svc:${h.toLowerCase()}`);
    case "Sidecar":
      return ["sidecar"];
    case "Gateway":
      return ["gateway"];
    case "Ingress":
      return ["ingress"];
    case "ConfigMap":
      return ["mesh-config"];
    case "KubernetesGateway":
    case "HTTPRoute":
    case "GRPCRoute":
    case "TCPRoute":
    case "TLSRoute":
    case "ReferenceGrant":
    case "Namespace":
      return gatewayApiTokens(resource, suffix);
    default:
      return [];
  }
}
