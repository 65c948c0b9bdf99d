import type { VirtualServiceSpec } from "../model/virtual-service.ts";
import { buildServiceClusters } from "./clusters.ts";
import { mergeDestinationRules, selectDestinationRules } from "./destination-policy.ts";
import { contentHash } from "./hash.ts";
import { hostMatches, resolveHost } from "./host-names.ts";
import type { IndexedService, IndexedVirtualService, ResourceIndex } from "./resource-index.ts";
import { appliesToProxy } from "./route-match.ts";
import type { Cluster, Diagnostic, ProxyIdentity, VirtualHost } from "./snapshot.ts";
import { buildVirtualHost } from "./virtual-hosts.ts";

/**
 * A compile unit is the memoised piece of a snapshot: the clusters of one Service, or the virtual
 * host of one host. `gather` collects exactly the inputs the unit reads (its memo key is their
 * content hash) and the dependency tokens (see `resourceTokens`); `build` uses only those inputs.
 */
export interface Unit {
  id: string;
  gather(): { key: string; tokens: string[]; build(): UnitOutput };
}

/** What a unit contributes to the snapshot. */
export interface UnitOutput {
  clusters?: Record<string, Cluster>;
  virtualHost?: VirtualHost;
  diagnostics: Diagnostic[];
  /** Content hash of the contribution (not of the diagnostics). */
  hash: string;
}

interface PlanContext {
  index: ResourceIndex;
  proxy: ProxyIdentity;
  suffix: string;
}

/**
 * Lists the units of a snapshot for this proxy. Sidecars: the clusters of every Service, a
 * virtual host per Service, and one per other host a mesh-bound VirtualService names. Gateways:
 * the clusters of every Service and a virtual host per host a VirtualService bound to one of the
 * proxy's gateways names (a gateway routes nothing by default, as in Istio).
 */
export function planUnits(ctx: PlanContext): Unit[] {
  const units: Unit[] = [];
  for (const service of ctx.index.services.values()) units.push(clusterUnit(service, ctx));
  const applicable = (host: string) =>
    (ctx.index.virtualServices.get(host) ?? []).filter((vs) => appliesToProxy(vs.gateways, ctx.proxy));
  if (ctx.proxy.role === "sidecar") {
    const wildcards = [...ctx.index.virtualServices.keys()]
      .filter((h) => h.includes("*") && applicable(h).length > 0)
      .sort((a, b) => b.length - a.length);
    for (const service of ctx.index.services.values()) {
      const exact = applicable(service.fqdn);
      const wildcard = wildcards.find((w) => hostMatches(w, service.fqdn));
      units.push(
        vhostUnit(
          service.fqdn,
          service,
          exact.length > 0 ? exact : wildcard ? applicable(wildcard) : [],
          ctx,
        ),
      );
    }
    for (const host of ctx.index.virtualServices.keys()) {
      const vss = applicable(host);
      if (!ctx.index.services.has(host) && vss.length > 0) units.push(vhostUnit(host, undefined, vss, ctx));
    }
  } else {
    for (const host of ctx.index.virtualServices.keys()) {
      const vss = applicable(host);
      if (vss.length > 0) units.push(vhostUnit(host, undefined, vss, ctx));
    }
  }
  return units;
}

function clusterUnit(service: IndexedService, ctx: PlanContext): Unit {
  return {
    id: `cluster|${service.fqdn}`,
    gather() {
      const selector = Object.entries(service.spec.selector ?? {});
      const entries = (ctx.index.workloadEntries.get(service.namespace) ?? []).filter(
        (we) => selector.length > 0 && selector.every(([k, v]) => we.spec.labels?.[k] === v),
      );
      const rules = selectDestinationRules(ctx.index, service.fqdn, service.namespace, ctx.proxy);
      return {
        key: contentHash({
          service: [service.ref, service.spec],
          entries: entries.map((we) => [we.ref, we.spec]),
          rules: rules.map((r) => [r.ref, r.created, r.spec]),
        }),
        tokens: [`svc:${service.fqdn}`, `we:${service.namespace}`, `dr:${service.fqdn}`, "dr:*"],
        build() {
          const diagnostics: Diagnostic[] = [];
          const clusters = buildServiceClusters(
            service,
            entries,
            mergeDestinationRules(rules, service.fqdn, diagnostics),
            diagnostics,
          );
          return { clusters, diagnostics, hash: contentHash(clusters) };
        },
      };
    },
  };
}

function vhostUnit(
  host: string,
  service: IndexedService | undefined,
  vss: IndexedVirtualService[],
  ctx: PlanContext,
): Unit {
  return {
    id: `vhost|${host}`,
    gather() {
      const used = ctx.proxy.role === "sidecar" ? vss.slice(0, 1) : vss;
      const destinations = [
        ...new Set(used.flatMap((vs) => destinationHosts(vs.spec, vs.namespace, ctx.suffix))),
      ].sort();
      const destinationInputs = destinations.map((d) => {
        const svc = ctx.index.services.get(d);
        const rules = svc ? selectDestinationRules(ctx.index, d, svc.namespace, ctx.proxy) : [];
        return [
          d,
          svc ? [svc.ref, svc.ports] : null,
          rules.map((r) => [r.ref, r.created, r.spec.subsets?.map((s) => s.name)]),
        ];
      });
      return {
        key: contentHash({
          host,
          service: service ? [service.ref, service.ports] : null,
          virtualServices: vss.map((vs, i) =>
            i < used.length ? [vs.ref, vs.created, vs.gateways, vs.spec] : [vs.ref],
          ),
          destinations: destinationInputs,
        }),
        tokens: [
          `svc:${host}`,
          `vs:${host}`,
          "vs:*",
          ...destinations.flatMap((d) => [`svc:${d}`, `dr:${d}`]),
          "dr:*",
        ],
        build() {
          const diagnostics: Diagnostic[] = [];
          const hostPorts = service?.ports.map((p) => p.port) ?? [];
          const virtualHost = buildVirtualHost(host, service, vss, { ...ctx, hostPorts, diagnostics });
          return { virtualHost, diagnostics, hash: contentHash(virtualHost) };
        },
      };
    },
  };
}

function destinationHosts(spec: VirtualServiceSpec, namespace: string, suffix: string): string[] {
  return (spec.http ?? []).flatMap((rule) =>
    (rule.route ?? []).map((d) => resolveHost(d.destination.host, namespace, suffix)),
  );
}
