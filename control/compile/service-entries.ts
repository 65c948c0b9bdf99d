import type { StoredResource } from "../../broker/events.ts";
import { parseIpBlock } from "../model/ip-block.ts";
import type { ServicePort, ServiceSpec } from "../model/service.ts";
import type { ServiceEntrySpec } from "../model/service-entry.ts";
import type { WorkloadEntrySpec } from "../model/workload-entry.ts";
import type { Indexed, IndexedService } from "./resource-index.ts";
import type { Cluster, VirtualHost } from "./snapshot.ts";

/** What a Service built from a ServiceEntry host keeps of its entry. */
export interface ServiceEntryView {
  resolution: NonNullable<ServiceEntrySpec["resolution"]>;
  location: NonNullable<ServiceEntrySpec["location"]>;
  exportTo?: string[];
  /** Single-IP `addresses` (virtual IPs); a request addressed to one of them reaches this entry. */
  addresses?: string[];
  /** CIDR-block `addresses`: TCP connections whose original destination lies in one are this entry's. */
  subnets?: string[];
  /** The entry's metadata labels (entries of one host merge only when they are equal, as in Istio). */
  labels?: Record<string, string>;
  /** Later ServiceEntries of the same host merged into this one (`service-entry-hosts.ts`). */
  merged?: string[];
  /** Inline `endpoints`, as WorkloadEntries (absent: a `workloadSelector` picks WorkloadEntries). */
  endpoints?: Indexed<WorkloadEntrySpec>[];
}

/** A Service of the index that came from a ServiceEntry host. */
export type ServiceEntryService = IndexedService & { entry: ServiceEntryView };

/**
 * One service per host of a ServiceEntry, so VirtualServices and DestinationRules name it like any
 * Service (`outbound|<port>||<host>`). Ports keep their protocol as `appProtocol`, so protocol
 * selection treats them like Kubernetes ports.
 *
 * @example
 * ```ts
 * serviceEntryServices("ServiceEntry/default/googleapis", googleapis)[0].fqdn; // "www.googleapis.com"
 * ```
 */
export function serviceEntryServices(key: string, resource: StoredResource): ServiceEntryService[] {
  const spec = resource.spec as ServiceEntrySpec;
  const { name, namespace, creationTimestamp } = resource.metadata;
  const ref = `ServiceEntry/${namespace}/${name}`;
  const ports: ServicePort[] = (spec.ports ?? []).map((p) => ({
    port: p.number,
    ...(p.name ? { name: p.name } : {}),
    ...(p.targetPort !== undefined ? { targetPort: p.targetPort } : {}),
    ...(p.protocol ? { appProtocol: p.protocol.toLowerCase() } : {}),
  }));
  const serviceSpec: ServiceSpec = {
    ports,
    ...(spec.workloadSelector?.labels ? { selector: spec.workloadSelector.labels } : {}),
  };
  // CIDR blocks need the connection's original address (TCP); single IPs work as HTTP authorities.
  const singleIps = (spec.addresses ?? []).map((a) => {
    const block = parseIpBlock(a);
    // `/32` is one IPv4 address but a large IPv6 block: compare with the address length.
    return block && a.includes("/") && block.prefix === block.bytes.length * 8
      ? a.slice(0, a.indexOf("/"))
      : a;
  });
  const virtualIps = singleIps.filter((a) => !a.includes("/"));
  const subnets = singleIps.filter((a) => a.includes("/"));
  const endpoints = spec.endpoints?.map(
    (we, i): Indexed<WorkloadEntrySpec> => ({
      key,
      ref: `${ref}#endpoints[${i}]`,
      name: `${name}-${i}`,
      namespace,
      created: creationTimestamp ?? "",
      spec: we,
    }),
  );
  return [...new Set((spec.hosts ?? []).map((h) => h.toLowerCase()))].map((host) => ({
    key,
    ref,
    name,
    namespace,
    created: creationTimestamp ?? "",
    spec: serviceSpec,
    fqdn: host,
    ports,
    entry: {
      resolution: spec.resolution ?? "NONE",
      location: spec.location ?? "MESH_EXTERNAL",
      ...(spec.exportTo ? { exportTo: spec.exportTo } : {}),
      ...(virtualIps.length > 0 ? { addresses: virtualIps } : {}),
      ...(subnets.length > 0 ? { subnets } : {}),
      ...(resource.metadata.labels ? { labels: resource.metadata.labels } : {}),
      ...(endpoints && endpoints.length > 0 ? { endpoints } : {}),
    },
  }));
}

/**
 * The endpoints of a ServiceEntry host, as WorkloadEntries: inline `endpoints`; else the
 * WorkloadEntries its `workloadSelector` picks in its namespace; else, for DNS resolution, the host
 * itself (resolved when a connection is made). NONE has none: the request's own destination is used.
 *
 * @example
 * ```ts
 * serviceEntryEndpoints(googleapis, [])[0]?.spec.address; // "www.googleapis.com" (DNS, no endpoints)
 * ```
 */
export function serviceEntryEndpoints(
  service: ServiceEntryService,
  workloadEntries: readonly Indexed<WorkloadEntrySpec>[],
): Indexed<WorkloadEntrySpec>[] {
  const { entry } = service;
  if (entry.resolution === "NONE") return [];
  if (entry.endpoints) return entry.endpoints;
  const selector = Object.entries(service.spec.selector ?? {});
  if (selector.length > 0)
    return workloadEntries.filter((we) => selector.every(([k, v]) => we.spec.labels?.[k] === v));
  if (entry.resolution === "STATIC" || service.fqdn.includes("*")) return [];
  return [
    {
      key: service.key,
      ref: `${service.ref}#${service.fqdn}`,
      name: service.name,
      namespace: service.namespace,
      created: service.created,
      spec: { address: service.fqdn },
    },
  ];
}

/**
 * Marks the clusters of a `resolution: NONE` host as original-destination clusters: the proxy
 * connects to the address the request was sent to (its authority), as Envoy's ORIGINAL_DST does.
 *
 * @example
 * ```ts
 * markOriginalDestination(wikipedia, clusters)["outbound|80||*.wikipedia.org"]?.originalDestination; // true
 * ```
 */
export function markOriginalDestination(
  service: IndexedService,
  clusters: Record<string, Cluster>,
): Record<string, Cluster> {
  if (service.entry?.resolution !== "NONE") return clusters;
  const out: Record<string, Cluster> = {};
  for (const [name, cluster] of Object.entries(clusters))
    out[name] = { ...cluster, endpoints: [], originalDestination: true };
  return out;
}

/**
 * The authorities a ServiceEntry host answers to: the host and its single-IP `addresses`, each
 * alone and with `:port` for each port (IPv6 in brackets).
 *
 * @example
 * ```ts
 * serviceEntryDomains(googleapis); // ["www.googleapis.com", "www.googleapis.com:80", "www.googleapis.com:443"]
 * ```
 */
export function serviceEntryDomains(service: IndexedService): string[] {
  const names = [
    service.fqdn,
    ...(service.entry?.addresses ?? []).map((a) => (a.includes(":") ? `[${a}]` : a)),
  ];
  return names.flatMap((name) => [name, ...service.ports.map((p) => `${name}:${p.port}`)]);
}

/**
 * The CIDR blocks a ServiceEntry host takes TCP connections for, on its ports (`VirtualHost.subnets`).
 * Single IPs are domains instead ({@link serviceEntryDomains}); DNS resolution takes none (Istio
 * allows CIDR `addresses` with NONE and STATIC only, and validation reports the others).
 *
 * @example
 * ```ts
 * serviceEntrySubnets(onPremDb); // { subnets: { cidrs: ["192.168.0.0/16"], ports: [5432] } }
 * ```
 */
export function serviceEntrySubnets(service: IndexedService): { subnets?: VirtualHost["subnets"] } {
  const entry = service.entry;
  if (!entry?.subnets || (entry.resolution !== "NONE" && entry.resolution !== "STATIC")) return {};
  return { subnets: { cidrs: entry.subnets, ports: service.ports.map((p) => p.port) } };
}

/** True for a Service of the index built from a ServiceEntry. */
export function isServiceEntryService(service: IndexedService): service is ServiceEntryService {
  return service.entry !== undefined;
}
