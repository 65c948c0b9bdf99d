import { isExportedTo } from "../model/namespaced-host.ts";
import type { ServiceEntryService } from "./service-entries.ts";

/** A ServiceEntry (or one of its hosts) that lost a host to another service, and why. */
export interface IgnoredEntry {
  ref: string;
  reason: string;
}

/**
 * Picks the one service each ServiceEntry host name has for a proxy in `proxyNamespace`, as
 * Istio's sidecar scope does when several ServiceEntries name the same host:
 * - only entries exported to the proxy's namespace count; among them the first in Istio's order
 *   wins: entries private to the proxy's namespace, then entries exported to it by name, then
 *   public ones, each oldest first (`hosts` must come sorted by creation);
 * - a later entry in the winner's namespace with the same resolution, `exportTo`,
 *   `workloadSelector` and labels is merged: its ports (by number) and endpoints join the
 *   winner's, as Istio merges ports and its endpoint registry is keyed by host and namespace;
 * - any other is ignored for the host and listed in `ignoredEntries` (a warning, JIBE2050).
 *
 * @example
 * ```ts
 * selectServiceEntryHosts([httpsEntry, httpEntry], "default")[0]?.ports.map((p) => p.port); // [443, 80]
 * ```
 */
export function selectServiceEntryHosts(
  hosts: readonly ServiceEntryService[],
  proxyNamespace: string | undefined,
): ServiceEntryService[] {
  const byHost = new Map<string, ServiceEntryService[]>();
  for (const host of hosts) {
    if (proxyNamespace !== undefined && !isExportedTo(host.entry.exportTo, host.namespace, proxyNamespace))
      continue;
    const list = byHost.get(host.fqdn);
    if (list) list.push(host);
    else byHost.set(host.fqdn, [host]);
  }
  const out: ServiceEntryService[] = [];
  for (const list of byHost.values()) {
    const ordered =
      proxyNamespace === undefined
        ? list
        : list
            .map((host, i) => ({ host, i, rank: exportRank(host, proxyNamespace) }))
            .sort((a, b) => a.rank - b.rank || a.i - b.i)
            .map((r) => r.host);
    const [first, ...rest] = ordered;
    if (!first) continue;
    let winner = first;
    const ignored: IgnoredEntry[] = [];
    for (const other of rest) {
      const conflict = mergeConflict(winner, other);
      if (conflict === undefined) winner = mergeHosts(winner, other);
      else
        ignored.push({
          ref: other.ref,
          reason: `host ${other.fqdn} is already defined by ${winner.ref}, and ${conflict}; Istio keeps one ServiceEntry per host for a namespace, so this one is ignored for it: ${MERGE_FIX}`,
        });
    }
    out.push(ignored.length > 0 ? { ...winner, ignoredEntries: ignored } : winner);
  }
  return out;
}

const MERGE_FIX =
  "put the ports and endpoints into one ServiceEntry, or give both entries the same namespace, resolution, exportTo, workloadSelector and labels so they merge";

/** Istio's `servicesExportedToNamespace` order: private to the namespace, exported to it by name, public. */
function exportRank(host: ServiceEntryService, proxyNamespace: string): number {
  const exportTo = host.entry.exportTo ?? [];
  if (exportTo.length === 0 || exportTo.includes("*")) return 2;
  return exportTo.includes(".") && host.namespace === proxyNamespace ? 0 : 1;
}

/** Why `other` cannot merge into `winner` (Istio's `canMergeServices`), or undefined when it can. */
function mergeConflict(winner: ServiceEntryService, other: ServiceEntryService): string | undefined {
  if (other.namespace !== winner.namespace)
    return `it is in namespace ${other.namespace}, not ${winner.namespace}`;
  if (other.entry.resolution !== winner.entry.resolution)
    return `its resolution ${other.entry.resolution} differs from ${winner.entry.resolution}`;
  const same = (a: unknown, b: unknown) => canonical(a) === canonical(b);
  if (!same(sorted(other.entry.exportTo), sorted(winner.entry.exportTo))) return "its exportTo differs";
  if (!same(other.spec.selector, winner.spec.selector)) return "its workloadSelector differs";
  if (!same(other.entry.labels, winner.entry.labels)) return "its metadata labels differ";
  return undefined;
}

function mergeHosts(winner: ServiceEntryService, other: ServiceEntryService): ServiceEntryService {
  const known = new Set(winner.ports.map((p) => p.port));
  const ports = [...winner.ports, ...other.ports.filter((p) => !known.has(p.port))];
  const union = (a: string[] | undefined, b: string[] | undefined) => {
    const all = [...new Set([...(a ?? []), ...(b ?? [])])];
    return all.length > 0 ? all : undefined;
  };
  const endpoints = [...(winner.entry.endpoints ?? []), ...(other.entry.endpoints ?? [])];
  const addresses = union(winner.entry.addresses, other.entry.addresses);
  const subnets = union(winner.entry.subnets, other.entry.subnets);
  return {
    ...winner,
    ports,
    spec: { ...winner.spec, ports },
    entry: {
      ...winner.entry,
      ...(endpoints.length > 0 ? { endpoints } : {}),
      ...(addresses ? { addresses } : {}),
      ...(subnets ? { subnets } : {}),
      merged: [...(winner.entry.merged ?? []), other.ref],
    },
  };
}

function sorted(list: readonly string[] | undefined): string[] {
  return [...(list ?? [])].sort();
}

function canonical(value: unknown): string {
  if (value === undefined || value === null) return "";
  if (typeof value !== "object" || Array.isArray(value)) return JSON.stringify(value);
  const entries = Object.entries(value as Record<string, unknown>).sort(([a], [b]) => (a < b ? -1 : 1));
  return entries.length === 0 ? "" : JSON.stringify(entries);
}
