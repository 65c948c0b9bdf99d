import type { GatewayServer } from "../model/gateway.ts";
import { parseNamespacedHost } from "../model/namespaced-host.ts";
import { clusterName } from "./clusters.ts";
import { compileDiagnostic } from "./compile-diagnostics.ts";
import { bindGateways } from "./gateway-binding.ts";
import { contentHash } from "./hash.ts";
import { hostMatches, resolveHost } from "./host-names.ts";
import { type IndexedVirtualService, type ResourceIndex, resolveGatewayName } from "./resource-index.ts";
import type {
  Diagnostic,
  GatewayServerConfig,
  GatewayServerTls,
  ProxyIdentity,
  Snapshot,
  SniRoute,
  WeightedCluster,
} from "./snapshot.ts";

/**
 * The servers of the Istio Gateways bound to a gateway proxy (selector ⊆ its labels, as
 * `bindGateways` decides), with their TLS settings, for the Node ingress gateway to listen on. A
 * PASSTHROUGH server carries the `tls` rules of the VirtualServices bound to its Gateway whose
 * `sniHosts` fall within the server's hosts (namespace part allowing the VirtualService's), the
 * destinations resolved to clusters. Kubernetes Ingresses of class `jibe` add port 80 and, per
 * `tls` entry, a SIMPLE server on 443 (`ingressServersOf`). Sidecars get none.
 *
 * @example
 * ```ts
 * gatewayServersOf(index, { id: "gw", role: "gateway", namespace: "istio-system", labels: { istio: "ingressgateway" } }, "cluster.local");
 * // { servers: [{ origin: "Gateway/default/shop#0", port: 443, protocol: "HTTPS", hosts: ["shop.example.com"], tls: { mode: "SIMPLE", … } }], diagnostics: [] }
 * ```
 */
export function gatewayServersOf(
  index: ResourceIndex,
  proxy: ProxyIdentity,
  suffix: string,
): { servers: GatewayServerConfig[]; diagnostics: Diagnostic[] } {
  const diagnostics: Diagnostic[] = [];
  if (proxy.role !== "gateway") return { servers: [], diagnostics };
  const bound = bindGateways(index, proxy).proxy.gateways ?? [];
  const virtualServices = uniqueVirtualServices(index);
  const servers: GatewayServerConfig[] = [];
  for (const name of bound) {
    const gateway = index.gateways.get(name);
    if (!gateway) continue;
    for (const [i, server] of (gateway.spec.servers ?? []).entries()) {
      const allowed = (server.hosts ?? []).map(parseNamespacedHost);
      const config: GatewayServerConfig = {
        origin: `${gateway.ref}#${i}`,
        port: server.port.number,
        protocol: server.port.protocol?.toUpperCase() ?? "HTTP",
        hosts: [...new Set(allowed.map((h) => h.host.toLowerCase()))],
        ...(server.tls ? { tls: serverTls(server.tls) } : {}),
      };
      if (server.tls?.mode === "PASSTHROUGH") {
        const inScope = (vs: IndexedVirtualService, sni: string) =>
          allowed.some((h) => {
            const ns = h.namespace === "." ? gateway.namespace : h.namespace;
            return (ns === "*" || ns === vs.namespace) && hostMatches(h.host.toLowerCase(), sni);
          });
        config.sniRoutes = virtualServices
          .filter((vs) => vs.gateways.includes(name))
          .flatMap((vs) => sniRoutesOf(vs, name, config.port, inScope, index, suffix, diagnostics));
      }
      servers.push(config);
    }
  }
  servers.push(...ingressServersOf(index));
  return { servers, diagnostics };
}

/**
 * The servers Kubernetes Ingresses of class `jibe` ask of every gateway, as Istio's ingress
 * controller makes them: port 80 (HTTP) for the rule hosts, and port 443 (HTTPS, SIMPLE) per `tls`
 * entry with its `secretName` as the `credentialName` (no hosts: every host).
 */
function ingressServersOf(index: ResourceIndex): GatewayServerConfig[] {
  if (index.ingresses.length === 0) return [];
  const hosts = new Set<string>();
  for (const ing of index.ingresses) {
    for (const rule of ing.spec.rules ?? []) hosts.add((rule.host ?? "*").toLowerCase());
    if (ing.spec.defaultBackend) hosts.add("*");
  }
  const servers: GatewayServerConfig[] = [
    { origin: "Ingress#http", port: 80, protocol: "HTTP", hosts: [...hosts].sort() },
  ];
  for (const ing of index.ingresses)
    for (const [i, tls] of (ing.spec.tls ?? []).entries()) {
      if (!tls.secretName) continue;
      servers.push({
        origin: `${ing.ref}#tls${i}`,
        port: 443,
        protocol: "HTTPS",
        hosts: tls.hosts?.length ? tls.hosts.map((h) => h.toLowerCase()) : ["*"],
        tls: { mode: "SIMPLE", credentialName: tls.secretName },
      });
    }
  return servers;
}

/** Adds the gateway servers to a compiled snapshot (and to its version hash); none: unchanged. */
export function attachGatewayServers(
  result: { snapshot: Snapshot; diagnostics: Diagnostic[] },
  gateway: { servers: GatewayServerConfig[]; diagnostics: Diagnostic[] },
): { snapshot: Snapshot; diagnostics: Diagnostic[] } {
  if (gateway.servers.length === 0 && gateway.diagnostics.length === 0) return result;
  const gatewayServers = gateway.servers;
  const version = contentHash({ snapshot: result.snapshot.version, gatewayServers });
  return {
    diagnostics: [...result.diagnostics, ...gateway.diagnostics],
    snapshot: { ...result.snapshot, version, gatewayServers },
  };
}

/** The settings a gateway enforces (what it does not is reported by `bindGateways`). */
function serverTls(tls: NonNullable<GatewayServer["tls"]>): GatewayServerTls {
  const out: GatewayServerTls = {};
  for (const key of TLS_FIELDS) if (tls[key] !== undefined) Object.assign(out, { [key]: tls[key] });
  return out;
}

const TLS_FIELDS = [
  "httpsRedirect",
  "mode",
  "serverCertificate",
  "privateKey",
  "caCertificates",
  "credentialName",
  "subjectAltNames",
  "minProtocolVersion",
  "maxProtocolVersion",
  "cipherSuites",
] as const satisfies readonly (keyof GatewayServerTls)[];

function uniqueVirtualServices(index: ResourceIndex): IndexedVirtualService[] {
  const byRef = new Map<string, IndexedVirtualService>();
  for (const list of index.virtualServices.values()) for (const vs of list) byRef.set(vs.ref, vs);
  return [...byRef.values()].sort((a, b) =>
    a.created === b.created ? (a.ref < b.ref ? -1 : 1) : a.created < b.created ? -1 : 1,
  );
}

/** The `tls` rules of one VirtualService that apply at a PASSTHROUGH server of `gateway`. */
function sniRoutesOf(
  vs: IndexedVirtualService,
  gateway: string,
  port: number,
  inScope: (vs: IndexedVirtualService, sni: string) => boolean,
  index: ResourceIndex,
  suffix: string,
  diagnostics: Diagnostic[],
): SniRoute[] {
  const routes: SniRoute[] = [];
  for (const [i, rule] of (vs.spec.tls ?? []).entries()) {
    const sniHosts = (rule.match ?? [])
      .filter((m) => m.port === undefined || m.port === port)
      .filter((m) => !m.gateways || m.gateways.some((g) => resolveGatewayName(g, vs.namespace) === gateway))
      .flatMap((m) => m.sniHosts ?? [])
      .map((h) => h.toLowerCase())
      .filter((h) => inScope(vs, h));
    if (sniHosts.length === 0) continue;
    const destinations: WeightedCluster[] = [];
    for (const [j, d] of (rule.route ?? []).entries()) {
      const fqdn = resolveHost(d.destination.host, vs.namespace, suffix);
      const service = index.services.get(fqdn);
      const destinationPort =
        d.destination.port?.number ?? (service?.ports.length === 1 ? service.ports[0]?.port : undefined);
      if (!service || destinationPort === undefined) {
        diagnostics.push(
          compileDiagnostic(
            "warning",
            "JIBE2043",
            vs.ref,
            `spec.tls[${i}].route[${j}].destination`,
            service
              ? `service ${fqdn} has several ports; set destination.port.number`
              : `no Service or ServiceEntry for host ${fqdn}; connections for this destination are refused`,
          ),
        );
        continue;
      }
      const weight = d.weight ?? ((rule.route ?? []).length === 1 ? 100 : 0);
      destinations.push({ cluster: clusterName(destinationPort, d.destination.subset, fqdn), weight });
    }
    routes.push({ origin: `${vs.ref}#tls${i}`, sniHosts: [...new Set(sniHosts)], destinations });
  }
  return routes;
}
