import type { WorkloadEntrySpec } from "../model/workload-entry.ts";
import { clusterName } from "./clusters.ts";
import { serviceDomains } from "./host-names.ts";
import type { Indexed, IndexedService } from "./resource-index.ts";
import type { Route } from "./snapshot.ts";

/**
 * Headless Services (`clusterIP: None`, as StatefulSets use): besides the Service name, each
 * endpoint answers its own name `<pod>.<service>.<namespace>.svc.<suffix>`, as Kubernetes DNS gives
 * StatefulSet pods. The pod's host name is its WorkloadEntry's name up to the first dot (the
 * Kubernetes adapter names entries `<pod>.<cluster>`; a hand-written entry `mysql-0` is `mysql-0`).
 */

/** Whether the Service is headless. */
export function isHeadless(service: Pick<IndexedService, "spec">): boolean {
  return service.spec.clusterIP === "None";
}

/** The pod host name a WorkloadEntry answers to under a headless Service. */
export function podHostname(entry: Pick<Indexed<WorkloadEntrySpec>, "name">): string {
  return entry.name.split(".")[0] ?? entry.name;
}

/** The host of one pod of a headless Service, e.g. `mysql-0.mysql.default.svc.cluster.local`. */
export function podHost(hostname: string, service: Pick<IndexedService, "fqdn">): string {
  return `${hostname}.${service.fqdn}`;
}

/** The WorkloadEntries a headless Service names one by one (selected, with an address), by host name. */
export function headlessPods(
  service: IndexedService,
  entries: readonly Indexed<WorkloadEntrySpec>[],
): Indexed<WorkloadEntrySpec>[] {
  if (!isHeadless(service)) return [];
  const selector = Object.entries(service.spec.selector ?? {});
  if (selector.length === 0) return [];
  return entries
    .filter((we) => we.spec.address && selector.every(([k, v]) => we.spec.labels?.[k] === v))
    .sort((a, b) => (podHostname(a) < podHostname(b) ? -1 : podHostname(a) > podHostname(b) ? 1 : 0));
}

/** The domains of one pod: `<pod>.<svc>` (same namespace), `<pod>.<svc>.<ns>`, `….svc`, the FQDN, each with ports. */
export function podDomains(hostname: string, service: IndexedService, proxyNamespace: string): string[] {
  return serviceDomains(
    {
      name: `${hostname}.${service.name}`,
      namespace: service.namespace,
      fqdn: podHost(hostname, service),
      ports: service.ports.map((p) => p.port),
    },
    proxyNamespace,
  );
}

/**
 * Routes sending requests (and TCP connections) addressed to one pod to that pod's cluster,
 * matched by the authority's first label; they come before the Service's own routes.
 *
 * @example
 * ```ts
 * podRoutes(mysql, ["mysql-0"])[0].action; // { kind: "route", destinations: [{ cluster: "outbound|3306||mysql-0.mysql.default.svc.cluster.local", weight: 100 }] }
 * ```
 */
export function podRoutes(service: IndexedService, hostnames: readonly string[]): Route[] {
  const single = service.ports.length === 1;
  return hostnames.flatMap((hostname) =>
    service.ports.map(
      (port): Route => ({
        origin: `${service.ref}#pod/${hostname}`,
        match: [{ authority: { prefix: `${hostname}.` }, ...(single ? {} : { port: port.port }) }],
        action: {
          kind: "route",
          destinations: [
            { cluster: clusterName(port.port, undefined, podHost(hostname, service)), weight: 100 },
          ],
        },
      }),
    ),
  );
}
