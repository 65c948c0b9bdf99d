import { parseNamespacedHost } from "../model/namespaced-host.ts";
import { compileDiagnostic } from "./compile-diagnostics.ts";
import { hostMatches } from "./host-names.ts";
import type { IndexedVirtualService, ResourceIndex } from "./resource-index.ts";
import type { Diagnostic, ProxyIdentity, Route, VirtualHost } from "./snapshot.ts";

/** How one host is exposed by the gateways of a proxy. */
export interface GatewayExposure {
  /** Domains the host is served under (the host narrowed by each server's hosts). */
  domains: string[];
  /** Domains exposed by a plain-HTTP server with `tls.httpsRedirect`: `http://` requests get a 301 to `https://`. */
  httpsRedirect: string[];
  diagnostics: Diagnostic[];
}

/** The Istio Gateways a gateway proxy implements, and how they expose VirtualService hosts. */
export interface GatewayBinding {
  /** The proxy with `gateways` extended by the Gateway resources that select it. */
  proxy: ProxyIdentity;
  diagnostics: Diagnostic[];
  expose(host: string, virtualServices: readonly IndexedVirtualService[]): GatewayExposure;
}

const SERVED_PROTOCOLS = new Set(["HTTP", "HTTPS", "HTTP2", "GRPC", "GRPC-WEB"]);

/**
 * Binds the Istio Gateways to a gateway proxy: a Gateway whose `selector` labels are all among the
 * proxy's labels (no selector: every gateway proxy) is implemented by it, besides the gateways the
 * proxy is configured with (`JIBE_GATEWAYS`, which need no resource and expose every host). A
 * VirtualService host bound to a Gateway is served for the server hosts that match it (namespace
 * part `ns/`, `./` or `*`/none must allow the VirtualService's namespace), narrowed to the more
 * specific of the two, as Istio intersects them.
 *
 * Server TLS (SIMPLE, MUTUAL, OPTIONAL_MUTUAL, ISTIO_MUTUAL, PASSTHROUGH, AUTO_PASSTHROUGH) and
 * TCP servers are enforced by the Node ingress gateway (`workers/gateway`); in front of the edge
 * worker TLS ends at Cloudflare. `httpsRedirect` is enforced by both (by scheme).
 *
 * @example
 * ```ts
 * const binding = bindGateways(index, { id: "edge~local", role: "gateway", namespace: "default", labels: { istio: "ingressgateway" } });
 * binding.proxy.gateways; // ["default/bookinfo-gateway"]
 * ```
 */
export function bindGateways(index: ResourceIndex, proxy: ProxyIdentity): GatewayBinding {
  const diagnostics: Diagnostic[] = [];
  const names = new Set(proxy.gateways ?? []);
  if (proxy.role === "gateway") {
    for (const [name, gateway] of index.gateways) {
      const selector = Object.entries(gateway.spec.selector ?? {});
      if (!selector.every(([k, v]) => proxy.labels[k] === v)) continue;
      names.add(name);
    }
  }
  const bound = { ...proxy, gateways: [...names].sort() };
  return {
    proxy: bound,
    diagnostics,
    expose(host, virtualServices) {
      const domains = new Set<string>();
      const httpsRedirect = new Set<string>();
      const out: Diagnostic[] = [];
      for (const vs of virtualServices) {
        const before = domains.size;
        let exposed = false;
        for (const name of vs.gateways.filter((g) => names.has(g))) {
          const gateway = index.gateways.get(name);
          if (!gateway) {
            domains.add(host);
            exposed = true;
            continue;
          }
          for (const server of gateway.spec.servers ?? []) {
            if (!SERVED_PROTOCOLS.has(server.port.protocol?.toUpperCase() ?? "")) continue;
            for (const raw of server.hosts ?? []) {
              const allowed = parseNamespacedHost(raw);
              const ns = allowed.namespace === "." ? gateway.namespace : allowed.namespace;
              if (ns !== "*" && ns !== vs.namespace) continue;
              const domain = hostMatches(allowed.host, host)
                ? host
                : hostMatches(host, allowed.host)
                  ? allowed.host
                  : undefined;
              if (domain === undefined) continue;
              domains.add(domain);
              exposed = true;
              if (server.tls?.httpsRedirect) httpsRedirect.add(domain);
            }
          }
        }
        // A VirtualService with only tcp / tls rules is served by TCP and TLS servers, not here.
        if (!exposed && domains.size === before && (vs.spec.http?.length ?? 0) > 0)
          out.push(
            compileDiagnostic(
              "warning",
              "JIBE2041",
              vs.ref,
              "spec.hosts",
              `host ${host} is not among the hosts of the Gateway servers it is bound to (${vs.gateways.join(", ")}); add it to a server's hosts or change the VirtualService host`,
            ),
          );
      }
      return { domains: [...domains].sort(), httpsRedirect: [...httpsRedirect].sort(), diagnostics: out };
    },
  };
}

/**
 * Applies an exposure to a built virtual host: its domains, and the HTTPS redirect route first.
 *
 * @example
 * ```ts
 * exposeVirtualHost(vhost, binding.expose("*", vss))?.domains; // ["bookinfo.example.com"]
 * ```
 */
export function exposeVirtualHost(
  virtualHost: VirtualHost,
  exposure: GatewayExposure,
): VirtualHost | undefined {
  if (exposure.domains.length === 0) return undefined;
  const all = exposure.domains.every((d) => exposure.httpsRedirect.includes(d));
  const redirect: Route = {
    origin: `${virtualHost.name}#httpsRedirect`,
    match: all
      ? [{ scheme: { exact: "http" } }]
      : exposure.httpsRedirect.map((d) => ({
          scheme: { exact: "http" },
          authority: { regex: authorityRegex(d) },
        })),
    action: {
      kind: "redirect",
      redirect: { status: 301, scheme: "https", derivePort: "FROM_PROTOCOL_DEFAULT" },
    },
  };
  return {
    ...virtualHost,
    domains: exposure.domains,
    routes: exposure.httpsRedirect.length > 0 ? [redirect, ...virtualHost.routes] : virtualHost.routes,
  };
}

/** An RE2 regex for the authorities of a domain (`*`, `*.example.com` or exact), with any port. */
function authorityRegex(domain: string): string {
  if (domain === "*") return ".*";
  const escaped = domain.replace(/\./g, "\\.");
  return domain.startsWith("*") ? `.+${escaped.slice(1)}(:[0-9]+)?` : `${escaped}(:[0-9]+)?`;
}
