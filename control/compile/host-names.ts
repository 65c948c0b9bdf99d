import { isIpAddress } from "../model/names.ts";
import type { ProxyIdentity } from "./snapshot.ts";

/** Host naming as Istio does it on Kubernetes: short names resolve in the resource's namespace. */

/** The proxy's cluster DNS suffix (default `cluster.local`). */
export function domainSuffix(proxy: ProxyIdentity): string {
  return proxy.domainSuffix ?? "cluster.local";
}

/** FQDN of a Service: `<name>.<namespace>.svc.<suffix>`. */
export function serviceFqdn(name: string, namespace: string, suffix: string): string {
  return `${name}.${namespace}.svc.${suffix}`;
}

/**
 * Resolves a host as written in a resource: a short name (no dot) becomes the FQDN in the
 * resource's namespace; FQDNs, wildcards and IPs stay as they are (lower-cased).
 *
 * @example
 * ```ts
 * resolveHost("reviews", "default", "cluster.local"); // "reviews.default.svc.cluster.local"
 * resolveHost("*.example.com", "default", "cluster.local"); // "*.example.com"
 * ```
 */
export function resolveHost(host: string, namespace: string, suffix: string): string {
  const lower = host.toLowerCase();
  if (lower.includes(".") || lower.includes("*") || isIpAddress(lower)) return lower;
  return serviceFqdn(lower, namespace, suffix);
}

/** True when `pattern` (exact, `*` or `*.suffix`) covers `host`; as Istio's host.Name.Matches. */
export function hostMatches(pattern: string, host: string): boolean {
  if (pattern === "*") return true;
  if (pattern.startsWith("*")) return host.endsWith(pattern.slice(1)) && host.length > pattern.length - 1;
  return pattern === host;
}

/**
 * The authorities a Service answers to from a proxy: `name` (same namespace only, as Kubernetes
 * DNS search paths give), `name.ns`, `name.ns.svc`, the FQDN, and each with `:port`.
 */
export function serviceDomains(
  service: { name: string; namespace: string; fqdn: string; ports: readonly number[] },
  proxyNamespace: string,
): string[] {
  const bases = [
    `${service.name}.${service.namespace}`,
    `${service.name}.${service.namespace}.svc`,
    service.fqdn,
  ];
  if (service.namespace === proxyNamespace) bases.unshift(service.name);
  const domains: string[] = [];
  for (const base of bases) {
    domains.push(base);
    for (const port of service.ports) domains.push(`${base}:${port}`);
  }
  return domains;
}
