import type { Listener, ParentRef } from "../model/gateway-api.ts";
import { isGatewayParent } from "../model/gateway-api.ts";
import type { StreamRouteRule } from "../model/stream-routes.ts";
import { compileDiagnostic } from "./compile-diagnostics.ts";
import { gatewayApiHttpServers } from "./gateway-api-listeners.ts";
import { resolveBackend } from "./gateway-api-routes.ts";
import { acceptsRoute, intersectHostnames } from "./gateway-api-units.ts";
import type { Indexed, ResourceIndex } from "./resource-index.ts";
import type {
  Diagnostic,
  GatewayServerConfig,
  ProxyIdentity,
  SniRoute,
  WeightedCluster,
} from "./snapshot.ts";

/**
 * Gateway API TCPRoutes and TLSRoutes (experimental channel) as gateway servers, the same shape
 * Istio Gateway servers compile to, so the Node gateway serves them unchanged: a `TCP` listener
 * forwards every connection by its attached TCPRoute (the oldest; the first rule, by weight); a
 * `TLS` listener with `tls.mode: Passthrough` routes by SNI to its TLSRoutes (hostnames
 * intersected with the listener's). Routes that do not attach are reported as JIBE2060, backends
 * that do not resolve as JIBE2061 (the wording the status writer reads).
 */

interface StreamRoute {
  kind: "TCPRoute" | "TLSRoute";
  route: Indexed<{ parentRefs?: ParentRef[]; hostnames?: string[]; rules: StreamRouteRule[] }>;
}

/**
 * The TCP and TLS passthrough servers of the Gateway API Gateways a gateway proxy implements
 * (`proxy.gateways`), with what could not attach or resolve.
 *
 * @example
 * ```ts
 * gatewayApiStreamServers(index, { id: "gw", role: "gateway", namespace: "infra", labels: {}, gateways: ["infra/edge"] }, "cluster.local");
 * // { servers: [{ origin: "KubernetesGateway/infra/edge#db", port: 5432, protocol: "TCP", hosts: ["*"], tcpRoute: {...} }], diagnostics: [] }
 * ```
 */
export function gatewayApiStreamServers(
  index: ResourceIndex,
  proxy: ProxyIdentity,
  suffix: string,
): { servers: GatewayServerConfig[]; diagnostics: Diagnostic[] } {
  const diagnostics: Diagnostic[] = [];
  const servers: GatewayServerConfig[] = [];
  const { tcpRoutes, tlsRoutes } = index.gatewayApi;
  if (proxy.role !== "gateway" || tcpRoutes.length + tlsRoutes.length === 0) return { servers, diagnostics };
  const routes: StreamRoute[] = [
    ...tcpRoutes.map((route) => ({ kind: "TCPRoute" as const, route })),
    ...tlsRoutes.map((route) => ({ kind: "TLSRoute" as const, route })),
  ];
  const ctx = { index, suffix, diagnostics };
  for (const key of proxy.gateways ?? []) {
    const gateway = index.gatewayApi.gateways.get(key);
    if (!gateway) continue;
    const attached = new Map<string, StreamRoute[]>(); // listener name → routes
    for (const stream of routes)
      attach(stream, key, gateway.namespace, gateway.spec.listeners, attached, ctx);
    for (const listener of gateway.spec.listeners) {
      const list = attached.get(listener.name);
      if (!list) continue;
      const origin = `${gateway.ref}#${listener.name}`;
      if (listener.protocol === "TCP") {
        const [first, ...others] = list;
        const destinations = first ? destinationsOf(first, ctx) : [];
        for (const other of others) {
          destinationsOf(other, ctx); // reports its backends too
          diagnostics.push(
            compileDiagnostic(
              "warning",
              "JIBE2064",
              other.route.ref,
              "spec.parentRefs",
              `listener ${listener.name} of Gateway ${key} already forwards by ${first?.route.ref}: this TCPRoute is ignored there; attach one TCPRoute per TCP listener`,
            ),
          );
        }
        servers.push({
          origin,
          port: listener.port,
          protocol: "TCP",
          hosts: ["*"],
          ...(first && destinations.length > 0
            ? { tcpRoute: { origin: `${first.route.ref}#0`, destinations } }
            : {}),
        });
      } else {
        // One entry per host, the most specific first: the gateway takes the first SNI match.
        const sniRoutes: SniRoute[] = list
          .flatMap((stream) => {
            const destinations = destinationsOf(stream, ctx);
            if (destinations.length === 0) return [];
            return intersectHostnames(stream.route.spec.hostnames, listener.hostname).map((host) => ({
              origin: `${stream.route.ref}#0`,
              sniHosts: [host],
              destinations,
            }));
          })
          .map((route, order) => ({ route, order }))
          .sort((a, b) => specificity(b.route) - specificity(a.route) || a.order - b.order)
          .map(({ route }) => route);
        servers.push({
          origin,
          port: listener.port,
          protocol: "TLS",
          hosts: [listener.hostname?.toLowerCase() ?? "*"],
          tls: { mode: "PASSTHROUGH" },
          sniRoutes,
        });
      }
    }
  }
  return { servers, diagnostics };
}

/** Records on which listeners of Gateway `key` a route attaches; reports the parentRefs that do not. */
function attach(
  stream: StreamRoute,
  key: string,
  gatewayNamespace: string,
  listeners: readonly Listener[],
  attached: Map<string, StreamRoute[]>,
  ctx: { index: ResourceIndex; diagnostics: Diagnostic[] },
): void {
  const { route, kind } = stream;
  for (const parent of route.spec.parentRefs ?? []) {
    if (!isGatewayParent(parent) || `${parent.namespace ?? route.namespace}/${parent.name}` !== key) continue;
    const matching = listeners.filter(
      (l) =>
        (parent.sectionName === undefined || l.name === parent.sectionName) &&
        (parent.port === undefined || l.port === parent.port),
    );
    const origin = {
      namespace: route.namespace,
      kind,
      namespaceLabels: ctx.index.gatewayApi.namespaceLabels,
    };
    const allowed = matching.filter((l) => acceptsRoute(l, gatewayNamespace, origin));
    const hosted = allowed.filter(
      (l) => kind === "TCPRoute" || intersectHostnames(route.spec.hostnames, l.hostname).length > 0,
    );
    const why =
      matching.length === 0
        ? `Gateway ${key} has no listener matching sectionName/port (NoMatchingParent)`
        : allowed.length === 0
          ? `no listener of Gateway ${key} allows ${kind}s from namespace ${route.namespace} (NotAllowedByListeners)`
          : hosted.length === 0
            ? `no hostname in common with the listeners of Gateway ${key} (NoMatchingListenerHostname)`
            : undefined;
    if (why)
      ctx.diagnostics.push(
        compileDiagnostic(
          "warning",
          "JIBE2060",
          route.ref,
          "spec.parentRefs",
          `route does not attach: ${why} (Accepted: False); fix the parentRef or the listener`,
        ),
      );
    for (const listener of hosted) {
      const list = attached.get(listener.name) ?? [];
      if (!list.includes(stream)) list.push(stream);
      attached.set(listener.name, list);
    }
  }
}

/** Exact hosts before wildcards, longer wildcards (`*.a.example.com`) before shorter ones; `*` last. */
function specificity(route: SniRoute): number {
  const host = route.sniHosts[0] ?? "*";
  if (host === "*") return 0;
  return host.startsWith("*.") ? host.length : 1_000 + host.length;
}

/** The first rule's backends that resolve, by weight (weight 0 and unresolved ones left out). */
function destinationsOf(
  stream: StreamRoute,
  ctx: { index: ResourceIndex; suffix: string; diagnostics: Diagnostic[] },
): WeightedCluster[] {
  const out: WeightedCluster[] = [];
  (stream.route.spec.rules[0]?.backendRefs ?? []).forEach((ref, i) => {
    const cluster = resolveBackend(stream.route, ref, `spec.rules[0].backendRefs[${i}]`, ctx);
    const weight = ref.weight ?? 1;
    if (cluster && weight > 0) out.push({ cluster, weight });
  });
  return out;
}

/**
 * Istio Gateway servers (`gatewayServersOf`) with the Gateway API listeners added: TCP and TLS
 * passthrough servers, then HTTP and HTTPS ones (`gateway-api-listeners.ts`).
 *
 * @example
 * ```ts
 * attachGatewayServers(result, withGatewayApiStreamServers(gatewayServersOf(index, proxy, suffix), index, proxy, suffix));
 * ```
 */
export function withGatewayApiStreamServers(
  istio: { servers: GatewayServerConfig[]; diagnostics: Diagnostic[] },
  index: ResourceIndex,
  proxy: ProxyIdentity,
  suffix: string,
): { servers: GatewayServerConfig[]; diagnostics: Diagnostic[] } {
  const streams = gatewayApiStreamServers(index, proxy, suffix);
  const http = gatewayApiHttpServers(index, proxy);
  const added =
    streams.servers.length + streams.diagnostics.length + http.servers.length + http.diagnostics.length;
  if (added === 0) return istio;
  return {
    servers: [...istio.servers, ...streams.servers, ...http.servers],
    diagnostics: [...istio.diagnostics, ...streams.diagnostics, ...http.diagnostics],
  };
}
