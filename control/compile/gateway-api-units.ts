import {
  GATEWAY_API_GROUP,
  type HttpRouteApiSpec,
  isGatewayParent,
  isServiceParent,
  type Listener,
} from "../model/gateway-api.ts";
import { clusterName } from "./clusters.ts";
import { compileDiagnostic } from "./compile-diagnostics.ts";
import { listenerRival, meshConflicts } from "./gateway-api-conflicts.ts";
import { routeKind } from "./gateway-api-index.ts";
import { compileHttpRouteApi, type GatewayRouteContext, sortByPrecedence } from "./gateway-api-routes.ts";
import { contentHash } from "./hash.ts";
import { hostMatches, serviceFqdn } from "./host-names.ts";
import { matchesLabelSelector, namespaceLabelsOf } from "./label-selector.ts";
import type { Indexed, IndexedService, ResourceIndex } from "./resource-index.ts";
import { appliesToProxy } from "./route-match.ts";
import type { Diagnostic, ProxyIdentity, VirtualHost } from "./snapshot.ts";
import type { Unit, UnitOutput } from "./units.ts";
import { buildVirtualHost } from "./virtual-hosts.ts";

/**
 * Compile units for Gateway API HTTPRoutes: a sidecar's virtual host for a Service that mesh
 * (GAMMA) routes attach to, and a gateway proxy's virtual host per hostname its Gateways'
 * listeners accept routes for. Routes from every HTTPRoute of a host are merged and ordered by
 * Gateway API precedence, then the engine takes the first match, as for VirtualServices.
 */

interface PlanContext {
  index: ResourceIndex;
  proxy: ProxyIdentity;
  suffix: string;
}

/** An HTTPRoute attached to a parent, with the port its routes are restricted to. */
interface Attachment {
  route: Indexed<HttpRouteApiSpec>;
  port: number | undefined;
}

/**
 * The sidecar virtual host of `service` when HTTPRoutes attach to it (parentRef kind Service):
 * routes in the proxy's own namespace (consumer routes) win over those in the Service's
 * namespace (producer routes), which apply to every client. Undefined when none attaches: the
 * VirtualService (or default) routing applies. Ports a parentRef `port` leaves out keep the
 * Service's default routes; a request no rule matches answers 404.
 */
export function meshRouteUnit(service: IndexedService, ctx: PlanContext): Unit | undefined {
  const attached: Attachment[] = [];
  for (const route of ctx.index.gatewayApi.httpRoutes) {
    for (const parent of route.spec.parentRefs ?? []) {
      if (!isServiceParent(parent)) continue;
      if (serviceFqdn(parent.name, parent.namespace ?? route.namespace, ctx.suffix) !== service.fqdn)
        continue;
      attached.push({ route, port: parent.port });
    }
  }
  const consumers = attached.filter(
    (a) => a.route.namespace === ctx.proxy.namespace && a.route.namespace !== service.namespace,
  );
  const { kept: used, conflicted } = meshConflicts(
    consumers.length > 0 ? consumers : attached.filter((a) => a.route.namespace === service.namespace),
  );
  if (used.length === 0) return undefined;
  return lazyUnit(
    `vhost|${service.fqdn}`,
    [`svc:${service.fqdn}`, `vs:${service.fqdn}`, "vs:*", `we:${service.namespace}`],
    used,
    ctx,
    (gctx) => {
      const ports = service.ports.map((p) => p.port);
      for (const { loser, winner } of conflicted)
        gctx.diagnostics.push(
          notAttached(
            loser.route,
            `${winner.route.ref} routes ${service.ref}${winner.port === undefined ? "" : ` port ${winner.port}`} and a GRPCRoute takes precedence over an HTTPRoute there (Conflicted)`,
          ),
        );
      for (const a of used)
        if (a.port !== undefined && !ports.includes(a.port))
          gctx.diagnostics.push(
            notAttached(
              a.route,
              `parentRef port ${a.port} is not a port of ${service.ref} (${ports.join(", ")})`,
            ),
          );
      for (const vs of ctx.index.virtualServices.get(service.fqdn) ?? [])
        if (appliesToProxy(vs.gateways, ctx.proxy))
          gctx.diagnostics.push(
            compileDiagnostic(
              "warning",
              "JIBE2063",
              vs.ref,
              "spec.hosts",
              `HTTPRoutes attach to ${service.ref}, so they route it for sidecars and this VirtualService is ignored there; keep one of them`,
            ),
          );
      const routes = sortByPrecedence(used.flatMap((a) => compileHttpRouteApi(a.route, a.port, gctx)));
      const covered = used.some((a) => a.port === undefined) ? ports : used.map((a) => a.port);
      for (const port of ports.filter((p) => !covered.includes(p)))
        routes.push({
          origin: `${service.ref}#default`,
          match: [{ port }],
          action: {
            kind: "route",
            destinations: [{ cluster: clusterName(port, undefined, service.fqdn), weight: 100 }],
          },
        });
      // The Service's own virtual host (domains, per-pod and TCP routes) with its default HTTP
      // routes replaced by the HTTPRoutes'.
      const base = buildVirtualHost(service.fqdn, service, [], {
        ...ctx,
        hostPorts: ports,
        diagnostics: gctx.diagnostics,
      });
      const defaultOrigin = `${service.ref}#default`;
      return { ...base, routes: [...base.routes.filter((r) => r.origin !== defaultOrigin), ...routes] };
    },
  );
}

/**
 * The sidecar unit (none without mesh routes) that only reports mesh routes whose parent
 * Service does not exist (Accepted: False): they route nothing until it does.
 */
export function meshStatusUnits(ctx: PlanContext): Unit[] {
  const problems: Diagnostic[] = [];
  const tokens: string[] = [];
  for (const route of ctx.index.gatewayApi.httpRoutes) {
    for (const parent of route.spec.parentRefs ?? []) {
      if (!isServiceParent(parent)) continue;
      const namespace = parent.namespace ?? route.namespace;
      const fqdn = serviceFqdn(parent.name, namespace, ctx.suffix);
      tokens.push(`svc:${fqdn}`);
      if (!ctx.index.services.has(fqdn))
        problems.push(
          notAttached(route, `parent Service ${namespace}/${parent.name} does not exist (NoMatchingParent)`),
        );
    }
  }
  return tokens.length > 0 ? [statusUnit("gwapi|mesh-status", problems, tokens)] : [];
}

/**
 * A gateway proxy's units: one virtual host per hostname that the HTTPRoutes attached to the
 * proxy's Gateways (`proxy.gateways`, `namespace/name`) accept (route hostnames intersected
 * with listener hostnames; `*` when neither names one), plus one unit that only reports routes
 * that do not attach (the `Accepted: False` a Kubernetes status writer would set).
 */
export function gatewayRouteUnits(ctx: PlanContext): Unit[] {
  const byHost = new Map<string, Attachment[]>();
  const problems: Diagnostic[] = [];
  for (const key of ctx.proxy.gateways ?? []) {
    const gateway = ctx.index.gatewayApi.gateways.get(key);
    if (!gateway) continue;
    const listenerPorts = new Set(gateway.spec.listeners.map((l) => l.port));
    for (const route of ctx.index.gatewayApi.httpRoutes) {
      for (const parent of route.spec.parentRefs ?? []) {
        if (!isGatewayParent(parent) || `${parent.namespace ?? route.namespace}/${parent.name}` !== key)
          continue;
        const listeners = gateway.spec.listeners.filter(
          (l) =>
            (parent.sectionName === undefined || l.name === parent.sectionName) &&
            (parent.port === undefined || l.port === parent.port),
        );
        const origin = {
          namespace: route.namespace,
          kind: routeKind(route),
          namespaceLabels: ctx.index.gatewayApi.namespaceLabels,
        };
        const allowed = listeners.filter((l) => acceptsRoute(l, gateway.namespace, origin));
        if (allowed.length === 0) {
          problems.push(
            notAttached(
              route,
              listeners.length === 0
                ? `Gateway ${key} has no listener matching sectionName/port (NoMatchingParent)`
                : `no listener of Gateway ${key} allows ${origin.kind}s from namespace ${route.namespace} (NotAllowedByListeners)`,
            ),
          );
          continue;
        }
        let hosts = 0;
        let rival: Indexed<HttpRouteApiSpec> | undefined;
        for (const listener of allowed) {
          const hostsOn = (r: Indexed<HttpRouteApiSpec>) =>
            intersectHostnames(r.spec.hostnames, listener.hostname);
          const winner = listenerRival(
            route,
            ctx.index.gatewayApi.httpRoutes,
            (other) => attachesTo(other, key, gateway.namespace, listener, ctx.index),
            hostsOn,
          );
          if (winner) {
            rival = winner;
            continue;
          }
          for (const host of hostsOn(route)) {
            hosts++;
            const port = listenerPorts.size > 1 ? listener.port : undefined;
            const list = byHost.get(host) ?? [];
            if (!list.some((a) => a.route === route && a.port === port)) list.push({ route, port });
            byHost.set(host, list);
          }
        }
        if (hosts === 0)
          problems.push(
            notAttached(
              route,
              rival
                ? `${rival.ref} is older and shares a hostname with it on the listeners of Gateway ${key}; an HTTPRoute and a GRPCRoute cannot both serve a hostname there (Conflicted)`
                : `no hostname in common with the listeners of Gateway ${key} (NoMatchingListenerHostname)`,
            ),
          );
      }
    }
  }
  const units: Unit[] = [...byHost].map(([host, used]) =>
    lazyUnit(`gwapi|${host}`, [], used, ctx, (gctx) => ({
      name: `httproute:${host}`,
      domains: [host],
      routes: sortByPrecedence(used.flatMap((a) => compileHttpRouteApi(a.route, a.port, gctx))),
    })),
  );
  if (ctx.index.gatewayApi.httpRoutes.length > 0) units.push(statusUnit("gwapi|status", problems, []));
  return units;
}

function statusUnit(id: string, problems: Diagnostic[], tokens: string[]): Unit {
  return {
    id,
    gather: () => ({
      key: contentHash(problems),
      tokens: ["gwapi:*", ...new Set(tokens)],
      build: () => ({ diagnostics: problems, hash: "" }),
    }),
  };
}

/** Route kinds a listener serves by protocol when `allowedRoutes.kinds` names none (TLS Passthrough: TLSRoute). */
const DEFAULT_ROUTE_KINDS: Readonly<Record<string, readonly string[]>> = {
  HTTP: ["HTTPRoute", "GRPCRoute"],
  HTTPS: ["HTTPRoute", "GRPCRoute"],
  TCP: ["TCPRoute"],
};

/**
 * The route kinds a listener accepts: `allowedRoutes.kinds` (group `gateway.networking.k8s.io`)
 * that its protocol can serve, else every kind its protocol serves; kinds it cannot serve are
 * left out (the listener's `ResolvedRefs: False, InvalidRouteKinds`).
 *
 * @example
 * ```ts
 * listenerRouteKinds({ name: "http", port: 80, protocol: "HTTP" }); // ["HTTPRoute", "GRPCRoute"]
 * ```
 */
export function listenerRouteKinds(listener: Listener): string[] {
  const passthrough = listener.protocol === "TLS" && listener.tls?.mode === "Passthrough";
  const served = passthrough ? ["TLSRoute"] : (DEFAULT_ROUTE_KINDS[listener.protocol] ?? []);
  const kinds = listener.allowedRoutes?.kinds;
  if (!kinds?.length) return [...served];
  return served.filter((kind) =>
    kinds.some((k) => k.kind === kind && (k.group ?? GATEWAY_API_GROUP) === GATEWAY_API_GROUP),
  );
}

/** Where a route comes from, for {@link acceptsRoute}. */
export interface RouteOrigin {
  namespace: string;
  /** `HTTPRoute` (default) or `GRPCRoute`. */
  kind?: string;
  /** Namespace labels by name (the `Namespace` resources); see `namespaceLabelsOf`. */
  namespaceLabels?: ReadonlyMap<string, Readonly<Record<string, string>>>;
}

/**
 * allowedRoutes: the route's kind is one the listener accepts ({@link listenerRouteKinds}) and its
 * namespace is allowed: `Same` (default), `All`, or `Selector` (the namespace's labels match
 * `selector`).
 *
 * @example
 * ```ts
 * acceptsRoute(listener, "infra", { namespace: "team-a", kind: "GRPCRoute", namespaceLabels });
 * ```
 */
export function acceptsRoute(listener: Listener, gatewayNamespace: string, route: RouteOrigin): boolean {
  if (!listenerRouteKinds(listener).includes(route.kind ?? "HTTPRoute")) return false;
  const namespaces = listener.allowedRoutes?.namespaces;
  switch (namespaces?.from ?? "Same") {
    case "All":
      return true;
    case "Same":
      return route.namespace === gatewayNamespace;
    case "Selector":
      return (
        namespaces?.selector !== undefined &&
        matchesLabelSelector(
          namespaces.selector,
          namespaceLabelsOf(route.namespaceLabels ?? new Map(), route.namespace),
        )
      );
    default:
      return false;
  }
}

/** Whether `route` attaches to `listener` of Gateway `key` (parentRef, sectionName/port, allowedRoutes). */
function attachesTo(
  route: Indexed<HttpRouteApiSpec>,
  key: string,
  gatewayNamespace: string,
  listener: Listener,
  index: ResourceIndex,
): boolean {
  const parented = (route.spec.parentRefs ?? []).some(
    (p) =>
      isGatewayParent(p) &&
      `${p.namespace ?? route.namespace}/${p.name}` === key &&
      (p.sectionName === undefined || p.sectionName === listener.name) &&
      (p.port === undefined || p.port === listener.port),
  );
  return (
    parented &&
    acceptsRoute(listener, gatewayNamespace, {
      namespace: route.namespace,
      kind: routeKind(route),
      namespaceLabels: index.gatewayApi.namespaceLabels,
    })
  );
}

/**
 * Gateway API hostname intersection: a route hostname that the listener hostname covers is kept;
 * a route wildcard covering the listener hostname yields the listener's.
 */
export function intersectHostnames(
  routeHosts: readonly string[] | undefined,
  listenerHost: string | undefined,
): string[] {
  const hosts = (routeHosts ?? []).map((h) => h.toLowerCase());
  const listener = listenerHost?.toLowerCase();
  if (hosts.length === 0) return [listener ?? "*"];
  if (!listener) return hosts;
  const out = new Set<string>();
  for (const host of hosts) {
    if (host === listener || hostMatches(listener, host)) out.add(host);
    else if (hostMatches(host, listener)) out.add(listener);
  }
  return [...out];
}

function notAttached(route: Indexed<HttpRouteApiSpec>, why: string): Diagnostic {
  return compileDiagnostic(
    "warning",
    "JIBE2060",
    route.ref,
    "spec.parentRefs",
    `route does not attach: ${why} (Accepted: False); fix the parentRef or the listener`,
  );
}

/** A unit whose key is the content hash of its compiled output (inputs are small). */
function lazyUnit(
  id: string,
  tokens: string[],
  used: readonly Attachment[],
  ctx: PlanContext,
  build: (gctx: GatewayRouteContext) => VirtualHost,
): Unit {
  return {
    id,
    gather() {
      const diagnostics: Diagnostic[] = [];
      const virtualHost: VirtualHost = build({ index: ctx.index, suffix: ctx.suffix, diagnostics });
      const backends = used.flatMap((a) => backendTokens(a.route, ctx.suffix));
      // A route attached on several ports reports the same problem once.
      const unique = [...new Map(diagnostics.map((d) => [JSON.stringify(d), d])).values()];
      const output: UnitOutput = { virtualHost, diagnostics: unique, hash: contentHash(virtualHost) };
      return {
        key: contentHash([output.hash, unique]),
        tokens: [...tokens, "gwapi:*", ...new Set(backends)],
        build: () => output,
      };
    },
  };
}

function backendTokens(route: Indexed<HttpRouteApiSpec>, suffix: string): string[] {
  return (route.spec.rules ?? []).flatMap((rule) => [
    ...(rule.backendRefs ?? []).map(
      (b) => `svc:${serviceFqdn(b.name, b.namespace ?? route.namespace, suffix)}`,
    ),
    ...(rule.filters ?? []).flatMap((f) =>
      f.requestMirror
        ? [
            `svc:${serviceFqdn(f.requestMirror.backendRef.name, f.requestMirror.backendRef.namespace ?? route.namespace, suffix)}`,
          ]
        : [],
    ),
  ]);
}
