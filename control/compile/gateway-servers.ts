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
  GatewayTcpRoute,
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
      const inScope = (vs: IndexedVirtualService, host: string, either = false) =>
        allowed.some((h) => {
          const ns = h.namespace === "." ? gateway.namespace : h.namespace;
          const serverHost = h.host.toLowerCase();
          return (
            (ns === "*" || ns === vs.namespace) &&
            (hostMatches(serverHost, host) || (either && hostMatches(host, serverHost)))
          );
        });
      const bound = virtualServices.filter((vs) => vs.gateways.includes(name));
      if (server.tls?.mode === "PASSTHROUGH")
        config.sniRoutes = bound.flatMap((vs) =>
          sniRoutesOf(vs, name, config.port, inScope, index, suffix, diagnostics),
        );
      else if (forwardsTcp(config)) {
        const tcpRoute = firstTcpRoute(bound, name, config.port, inScope, index, suffix, diagnostics);
        if (tcpRoute) config.tcpRoute = tcpRoute;
        else
          diagnostics.push(
            compileDiagnostic(
              "warning",
              "JIBE2044",
              gateway.ref,
              `spec.servers[${i}]`,
              `no VirtualService tcp route bound to Gateway ${name} applies to this ${config.protocol} server (hosts ${config.hosts.join(", ")}); its connections are closed. Bind a VirtualService with these hosts, gateways: [${name}] and a tcp rule (match.port ${config.port} or none)`,
            ),
          );
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
  if (tls.tlsCertificates?.length)
    out.tlsCertificates = tls.tlsCertificates.map((c) => {
      const files: NonNullable<GatewayServerTls["tlsCertificates"]>[number] = {};
      for (const key of ["serverCertificate", "privateKey", "caCertificates"] as const)
        if (typeof c[key] === "string") files[key] = c[key];
      return files;
    });
  return out;
}

const TLS_FIELDS = [
  "httpsRedirect",
  "mode",
  "serverCertificate",
  "privateKey",
  "caCertificates",
  "credentialName",
  "credentialNames",
  "caCrl",
  "verifyCertificateHash",
  "verifyCertificateSpki",
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
    const destinations = weightedClustersOf(
      vs,
      `spec.tls[${i}]`,
      rule.route ?? [],
      index,
      suffix,
      diagnostics,
    );
    routes.push({ origin: `${vs.ref}#tls${i}`, sniHosts: [...new Set(sniHosts)], destinations });
  }
  return routes;
}

/**
 * Whether a server forwards TCP bytes with a `tcp` route: a `TCP` (or other non-HTTP, non-TLS)
 * protocol, or `TLS` terminated at the gateway (any mode but PASSTHROUGH / AUTO_PASSTHROUGH).
 *
 * @example
 * ```ts
 * forwardsTcp({ protocol: "TLS", tls: { mode: "SIMPLE" } }); // true
 * forwardsTcp({ protocol: "HTTPS", tls: { mode: "SIMPLE" } }); // false: HTTP routing
 * ```
 */
export function forwardsTcp(server: Pick<GatewayServerConfig, "protocol" | "tls">): boolean {
  if (HTTP_PROTOCOLS.has(server.protocol)) return false;
  const mode = server.tls?.mode;
  if (server.protocol === "TLS")
    return mode !== undefined && mode !== "PASSTHROUGH" && mode !== "AUTO_PASSTHROUGH";
  return true;
}

const HTTP_PROTOCOLS = new Set(["HTTP", "HTTPS", "HTTP2", "GRPC", "GRPC-WEB"]);

/**
 * The `tcp` rule a TCP server forwards with, as Istio's gateway picks it: the first rule (oldest
 * VirtualService first) of a VirtualService bound to the Gateway with a host in the server's hosts,
 * one of whose matches (none: all) allows the server port and the Gateway.
 */
function firstTcpRoute(
  bound: readonly IndexedVirtualService[],
  gateway: string,
  port: number,
  inScope: (vs: IndexedVirtualService, host: string, either?: boolean) => boolean,
  index: ResourceIndex,
  suffix: string,
  diagnostics: Diagnostic[],
): GatewayTcpRoute | undefined {
  for (const vs of bound) {
    if (!vs.spec.hosts?.some((h) => inScope(vs, h.toLowerCase(), true))) continue;
    for (const [i, rule] of (vs.spec.tcp ?? []).entries()) {
      const applies =
        !rule.match?.length ||
        rule.match.some(
          (m) =>
            (m.port === undefined || m.port === port) &&
            (!m.gateways || m.gateways.some((g) => resolveGatewayName(g, vs.namespace) === gateway)),
        );
      if (!applies) continue;
      const path = `spec.tcp[${i}]`;
      return {
        origin: `${vs.ref}#tcp${i}`,
        destinations: weightedClustersOf(vs, path, rule.route ?? [], index, suffix, diagnostics),
      };
    }
  }
  return undefined;
}

/** The clusters of a `tls` / `tcp` rule's destinations; unknown ones are reported and dropped. */
function weightedClustersOf(
  vs: IndexedVirtualService,
  path: string,
  route: readonly {
    destination: { host: string; subset?: string; port?: { number?: number } };
    weight?: number;
  }[],
  index: ResourceIndex,
  suffix: string,
  diagnostics: Diagnostic[],
): WeightedCluster[] {
  const destinations: WeightedCluster[] = [];
  for (const [j, d] of route.entries()) {
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
          `${path}.route[${j}].destination`,
          service
            ? `service ${fqdn} has several ports; set destination.port.number`
            : `no Service or ServiceEntry for host ${fqdn}; connections for this destination are refused`,
        ),
      );
      continue;
    }
    const weight = d.weight ?? (route.length === 1 ? 100 : 0);
    destinations.push({ cluster: clusterName(destinationPort, d.destination.subset, fqdn), weight });
  }
  return destinations;
}
