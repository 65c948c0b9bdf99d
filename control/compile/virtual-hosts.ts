import { clusterName } from "./clusters.ts";
import { compileDiagnostic } from "./compile-diagnostics.ts";
import { headlessPods, podDomains, podHostname, podRoutes } from "./headless.ts";
import { serviceDomains } from "./host-names.ts";
import { compileHttpRoute, type RouteContext } from "./http-routes.ts";
import { listenerProtocolOf, selectPortProtocol } from "./protocol.ts";
import type { IndexedService, IndexedVirtualService } from "./resource-index.ts";
import type { MatchRequest } from "./route-match.ts";
import { serviceEntryDomains, serviceEntrySubnets } from "./service-entries.ts";
import type { Route, VirtualHost } from "./snapshot.ts";

/**
 * The routes a Service has when no VirtualService claims its host: everything to the
 * all-endpoints cluster of the port the request came in on (one route per port when several).
 *
 * @example
 * ```ts
 * defaultServiceRoutes(reviews)[0].origin; // "Service/default/reviews#default"
 * ```
 */
export function defaultServiceRoutes(service: IndexedService): Route[] {
  const origin = `${service.ref}#default`;
  const toPort = (port: number): Route["action"] => ({
    kind: "route",
    destinations: [{ cluster: clusterName(port, undefined, service.fqdn), weight: 100 }],
  });
  const [only, ...rest] = service.ports;
  if (only && rest.length === 0) return [{ origin, match: [], action: toPort(only.port) }];
  return service.ports.map((p) => ({ origin, match: [{ port: p.port }], action: toPort(p.port) }));
}

/**
 * The virtual host of one host for this proxy.
 *
 * Sidecars (Istio's mesh gateway): the oldest VirtualService for the host wins and later ones are
 * ignored for it with a warning (Istio's IST0109 conflict). Gateways: the VirtualServices are
 * merged oldest first, catch-all rules moved last (Istio's CombineVHostRoutes). Without a
 * VirtualService, a Service gets its default routes.
 */
export function buildVirtualHost(
  host: string,
  service: IndexedService | undefined,
  virtualServices: readonly IndexedVirtualService[],
  ctx: RouteContext,
): VirtualHost {
  const vh = buildRoutedHost(host, service, virtualServices, ctx);
  return service ? withPodRoutes(vh, service, ctx) : vh;
}

/**
 * A headless Service's virtual host also answers each pod's name (`headless.ts`), routed to that
 * pod before the Service's own routes (HTTP and TCP alike).
 */
function withPodRoutes(vh: VirtualHost, service: IndexedService, ctx: RouteContext): VirtualHost {
  const hostnames = headlessPods(service, ctx.index.workloadEntries.get(service.namespace) ?? []).map(
    podHostname,
  );
  if (hostnames.length === 0) return vh;
  const perPod = podRoutes(service, hostnames);
  return {
    ...vh,
    domains: [...vh.domains, ...hostnames.flatMap((h) => podDomains(h, service, ctx.proxy.namespace))],
    routes: [...perPod, ...vh.routes],
    ...(vh.tcpRoutes ? { tcpRoutes: [...perPod, ...vh.tcpRoutes] } : {}),
  };
}

function buildRoutedHost(
  host: string,
  service: IndexedService | undefined,
  virtualServices: readonly IndexedVirtualService[],
  ctx: RouteContext,
): VirtualHost {
  const domains = service?.entry
    ? serviceEntryDomains(service)
    : service
      ? serviceDomains(
          {
            name: service.name,
            namespace: service.namespace,
            fqdn: service.fqdn,
            ports: service.ports.map((p) => p.port),
          },
          ctx.proxy.namespace,
        )
      : [host];
  if (virtualServices.length === 0)
    return {
      name: host,
      domains,
      routes: service ? defaultServiceRoutes(service) : [],
      ...tcpRoutesOf(service, [], ctx),
      ...(service ? serviceEntrySubnets(service) : {}),
    };
  const used = ctx.proxy.role === "sidecar" ? virtualServices.slice(0, 1) : virtualServices;
  for (const ignored of virtualServices.slice(used.length)) {
    ctx.diagnostics.push(
      compileDiagnostic(
        "warning",
        "JIBE2004",
        ignored.ref,
        "spec.hosts",
        `host ${host} is already routed for sidecars by the older ${used[0]?.ref}; this VirtualService is ignored for it (merge the rules into one VirtualService)`,
      ),
    );
  }
  const routes = used.flatMap((vs) =>
    (vs.spec.http ?? []).flatMap((rule, i) => compileHttpRoute(vs, i, rule, ctx)),
  );
  return {
    name: host,
    domains,
    routes: used.length > 1 ? catchAllLast(routes) : routes,
    ...tcpRoutesOf(service, used, ctx),
    ...(service ? serviceEntrySubnets(service) : {}),
  };
}

/**
 * TCP routes of a host: the `tcp` rules of its VirtualServices (`port`, `sourceLabels`,
 * `sourceNamespace`, `gateways`, `destinationSubnets` and `sourceSubnet` matches; weighted
 * destinations), else, when the Service has a port served as TCP (`protocol.ts`), its default routes.
 */
function tcpRoutesOf(
  service: IndexedService | undefined,
  used: readonly IndexedVirtualService[],
  ctx: RouteContext,
): { tcpRoutes?: Route[] } {
  const rules = used.flatMap((vs) =>
    (vs.spec.tcp ?? []).flatMap((rule, i) => {
      warnUnenforcedTcp(vs, rule, i, ctx);
      const match = rule.match?.map(
        (m): MatchRequest => ({
          ...(m.port !== undefined ? { port: m.port } : {}),
          ...(m.sourceLabels ? { sourceLabels: m.sourceLabels } : {}),
          ...(m.sourceNamespace !== undefined ? { sourceNamespace: m.sourceNamespace } : {}),
          ...(m.gateways ? { gateways: m.gateways } : {}),
          ...(m.destinationSubnets?.length ? { destinationSubnets: m.destinationSubnets } : {}),
          ...(m.sourceSubnet !== undefined ? { sourceSubnet: m.sourceSubnet } : {}),
        }),
      );
      return compileHttpRoute(vs, i, { ...(match ? { match } : {}), route: rule.route }, ctx, "tcp");
    }),
  );
  if (rules.length > 0) return { tcpRoutes: rules };
  const hasTcpPort = service?.ports.some((p) => listenerProtocolOf(selectPortProtocol(p)) === "tcp");
  return service && hasTcpPort ? { tcpRoutes: defaultServiceRoutes(service) } : {};
}

function warnUnenforcedTcp(
  vs: IndexedVirtualService,
  rule: NonNullable<IndexedVirtualService["spec"]["tcp"]>[number],
  index: number,
  ctx: RouteContext,
): void {
  (rule.match ?? []).forEach((m, i) => {
    // sniHosts is a `tls` rule's field; a `tcp` connection has no SNI Jibe reads.
    for (const field of ["sniHosts"] as const) {
      if (m[field] === undefined) continue;
      ctx.diagnostics.push(
        compileDiagnostic(
          "warning",
          "JIBE2008",
          vs.ref,
          `spec.tcp[${index}].match[${i}].${field}`,
          `${field} is accepted but not enforced by Jibe yet; the rule matches without it`,
        ),
      );
    }
  });
}

function catchAllLast(routes: Route[]): Route[] {
  const isCatchAll = (r: Route) =>
    r.match.length === 0 ||
    r.match.some((m) => {
      const keys = Object.keys(m).filter((k) => k !== "name");
      return (
        keys.length === 0 ||
        (keys.length === 1 && m.uri !== undefined && "prefix" in m.uri && m.uri.prefix === "/")
      );
    });
  return [...routes.filter((r) => !isCatchAll(r)), ...routes.filter(isCatchAll)];
}
