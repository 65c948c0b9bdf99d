import type { VirtualServiceSpec } from "../model/virtual-service.ts";
import { buildServiceClusters } from "./clusters.ts";
import { compileDiagnostic } from "./compile-diagnostics.ts";
import { mergeDestinationRules, selectDestinationRules } from "./destination-policy.ts";
import { gatewayRouteUnits, meshRouteUnit, meshStatusUnits } from "./gateway-api-units.ts";
import { bindGateways, exposeVirtualHost, type GatewayExposure } from "./gateway-binding.ts";
import { contentHash } from "./hash.ts";
import { headlessPods, isHeadless, podHostname } from "./headless.ts";
import { hostMatches, resolveHost } from "./host-names.ts";
import { ingressUnits } from "./ingress-routes.ts";
import type { IndexedService, IndexedVirtualService, ResourceIndex } from "./resource-index.ts";
import { appliesToProxy } from "./route-match.ts";
import { isServiceEntryService, markOriginalDestination, serviceEntryEndpoints } from "./service-entries.ts";
import {
  isServiceVisible,
  outboundPolicyHost,
  type SidecarScope,
  selectSidecarScope,
} from "./sidecar-scope.ts";
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
 * Lists the units of a snapshot for this proxy. Sidecars: the clusters of every Service (and
 * ServiceEntry host) the proxy sees (its Sidecar's egress hosts, `exportTo`), a virtual host per
 * such Service, one per other host a mesh-bound VirtualService names, and the outbound-traffic
 * catch-all (the Sidecar's or mesh config's mode, else Istio's default ALLOW_ANY). Gateways: the
 * clusters of every Service and a virtual host per host a VirtualService bound to one of the
 * proxy's gateways (configured, or an Istio Gateway selecting its labels) names, narrowed to the
 * Gateway's server hosts, plus Ingress hosts (a gateway routes nothing by default, as in Istio).
 */
export function planUnits(ctx: PlanContext): Unit[] {
  // Sidecar resources and ServiceEntry exportTo scope what a proxy sees (gateways: exportTo only).
  const scope = selectSidecarScope(ctx.index, ctx.proxy);
  const binding = bindGateways(ctx.index, ctx.proxy);
  const visible = [...ctx.index.services.values()].filter((s) => isServiceVisible(s, scope, ctx.proxy));
  const scoped = scope.outboundMode || scope.diagnostics.length > 0 || binding.diagnostics.length > 0;
  const units: Unit[] = scoped ? [meshScopeUnit(scope, binding.diagnostics)] : [];
  for (const service of visible) units.push(clusterUnit(service, ctx));
  const applicable = (host: string) =>
    (ctx.index.virtualServices.get(host) ?? []).filter(
      (vs) => appliesToProxy(vs.gateways, binding.proxy) && scope.sees(host, vs.namespace),
    );
  if (ctx.proxy.role === "sidecar") {
    const wildcards = [...ctx.index.virtualServices.keys()]
      .filter((h) => h.includes("*") && applicable(h).length > 0)
      .sort((a, b) => b.length - a.length);
    for (const service of visible) {
      const exact = applicable(service.fqdn);
      const wildcard = wildcards.find((w) => hostMatches(w, service.fqdn));
      units.push(
        // Gateway API mesh (GAMMA) routes attached to the Service replace its VirtualService routing.
        meshRouteUnit(service, ctx) ??
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
    units.push(...meshStatusUnits(ctx));
  } else {
    // Istio Gateways that select this proxy add to its gateways and narrow the hosts served.
    const bound = { ...ctx, proxy: binding.proxy };
    for (const host of ctx.index.virtualServices.keys()) {
      const vss = applicable(host);
      if (vss.length > 0)
        units.push(exposedUnit(vhostUnit(host, undefined, vss, bound), binding.expose(host, vss)));
    }
    units.push(...gatewayRouteUnits(ctx));
    units.push(...ingressUnits(ctx.index, ctx.suffix));
  }
  return units;
}

function clusterUnit(service: IndexedService, ctx: PlanContext): Unit {
  return {
    id: `cluster|${service.fqdn}`,
    gather() {
      const selector = Object.entries(service.spec.selector ?? {});
      const inNamespace = ctx.index.workloadEntries.get(service.namespace) ?? [];
      const entries = isServiceEntryService(service)
        ? serviceEntryEndpoints(service, inNamespace)
        : inNamespace.filter(
            (we) => selector.length > 0 && selector.every(([k, v]) => we.spec.labels?.[k] === v),
          );
      const rules = selectDestinationRules(ctx.index, service.fqdn, service.namespace, ctx.proxy);
      return {
        key: contentHash({
          service: [service.ref, service.spec, service.entry ?? null, service.ignoredEntries ?? null],
          entries: entries.map((we) => [we.ref, we.spec]),
          rules: rules.map((r) => [r.ref, r.created, r.spec]),
        }),
        tokens: [`svc:${service.fqdn}`, `we:${service.namespace}`, `dr:${service.fqdn}`, "dr:*"],
        build() {
          const diagnostics: Diagnostic[] = [];
          const clusters = markOriginalDestination(
            service,
            buildServiceClusters(
              service,
              entries,
              mergeDestinationRules(rules, service.fqdn, diagnostics),
              diagnostics,
            ),
          );
          for (const ignored of service.ignoredEntries ?? [])
            diagnostics.push(
              compileDiagnostic("warning", "JIBE2050", ignored.ref, "spec.hosts", ignored.reason),
            );
          return { clusters, diagnostics, hash: contentHash(clusters) };
        },
      };
    },
  };
}

/** The outbound-traffic catch-all of a sidecar (ALLOW_ANY / REGISTRY_ONLY) and the scoping diagnostics. */
function meshScopeUnit(scope: SidecarScope, bindingDiagnostics: Diagnostic[]): Unit {
  return {
    id: "outbound|policy",
    gather() {
      const diagnostics = [...scope.diagnostics, ...bindingDiagnostics];
      const mode = scope.outboundMode;
      const source = scope.outboundModeSource ?? "";
      return {
        key: contentHash({ mode: mode ?? null, source, diagnostics }),
        tokens: ["sidecar", "mesh-config", "gateway"],
        build() {
          if (!mode) return { diagnostics, hash: "" };
          const { virtualHost, clusters } = outboundPolicyHost(mode, source);
          return { virtualHost, clusters, diagnostics, hash: contentHash({ virtualHost, clusters }) };
        },
      };
    },
  };
}

/** A gateway's virtual host narrowed to the domains its Gateway servers expose. */
function exposedUnit(unit: Unit, exposure: GatewayExposure): Unit {
  return {
    id: unit.id,
    gather() {
      const inner = unit.gather();
      return {
        key: contentHash({ inner: inner.key, exposure }),
        tokens: [...inner.tokens, "gateway"],
        build() {
          const output = inner.build();
          const diagnostics = [...output.diagnostics, ...exposure.diagnostics];
          const virtualHost = output.virtualHost && exposeVirtualHost(output.virtualHost, exposure);
          return virtualHost
            ? { virtualHost, diagnostics, hash: contentHash(virtualHost) }
            : { diagnostics, hash: "" };
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
          service: service
            ? [service.ref, service.ports, service.entry?.addresses, service.entry?.subnets]
            : null,
          // Headless Services route each pod by name (headless.ts).
          pods: service
            ? headlessPods(service, ctx.index.workloadEntries.get(service.namespace) ?? []).map(podHostname)
            : [],
          virtualServices: vss.map((vs, i) =>
            i < used.length ? [vs.ref, vs.created, vs.gateways, vs.spec] : [vs.ref],
          ),
          destinations: destinationInputs,
        }),
        tokens: [
          `svc:${host}`,
          `vs:${host}`,
          ...(service && isHeadless(service) ? [`we:${service.namespace}`] : []),
          "vs:*",
          ...destinations.flatMap((d) => [`svc:${d}`, `dr:${d}`]),
          "dr:*",
          "sidecar", // a Sidecar decides which VirtualServices of other namespaces the host sees
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
  return [...(spec.http ?? []), ...(spec.tcp ?? [])].flatMap((rule) =>
    (rule.route ?? []).map((d) => resolveHost(d.destination.host, namespace, suffix)),
  );
}
