import { clusterName } from "./clusters.ts";
import { compileDiagnostic } from "./compile-diagnostics.ts";
import { serviceDomains } from "./host-names.ts";
import { compileHttpRoute, type RouteContext } from "./http-routes.ts";
import type { IndexedService, IndexedVirtualService } from "./resource-index.ts";
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
  const domains = service
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
    return { name: host, domains, routes: service ? defaultServiceRoutes(service) : [] };
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
  return { name: host, domains, routes: used.length > 1 ? catchAllLast(routes) : routes };
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
