import { PASSTHROUGH_CLUSTER } from "../../control/compile/sidecar-scope.ts";
import { UNKNOWN } from "./workload-metadata.ts";

/** The `destination_service`, `destination_service_name` and `destination_service_namespace` labels. */
export interface DestinationService {
  host: string;
  name: string;
  namespace: string;
}

/** What {@link resolveDestinationService} looks at. */
export interface DestinationServiceInput {
  /** Service FQDN of the cluster the request was routed to, when it was routed. */
  routed?: string;
  /** Target authority as the client gave it, e.g. `reviews:9080`. */
  authority: string;
  /** Service FQDNs this proxy knows (from its snapshot). */
  knownServices: ReadonlySet<string>;
  /** Namespace short host names resolve in. */
  namespace: string;
  /** Cluster DNS suffix, e.g. `cluster.local`. */
  suffix: string;
  /** Label with the raw Host header when no service matches (Istio's default, a cardinality risk). */
  hostHeaderFallback: boolean;
}

const UNKNOWN_SERVICE: DestinationService = { host: UNKNOWN, name: UNKNOWN, namespace: UNKNOWN };

/**
 * Names the destination service of a request: the routed cluster's service; else a known service the
 * authority names (short, `name.ns`, `name.ns.svc` or FQDN, any port); else the Host header itself
 * when host-header fallback is on; else `unknown`. With fallback off, any number of distinct Host
 * headers produce no new label values. Traffic passed through to a host outside the registry
 * (ALLOW_ANY) is named as unrouted, with `PassthroughCluster` as its name, as Istio labels it.
 *
 * @example
 * ```ts
 * resolveDestinationService({ authority: "reviews:9080", knownServices: new Set(["reviews.default.svc.cluster.local"]),
 *   namespace: "default", suffix: "cluster.local", hostHeaderFallback: false });
 * // { host: "reviews.default.svc.cluster.local", name: "reviews", namespace: "default" }
 * ```
 */
export function resolveDestinationService(input: DestinationServiceInput): DestinationService {
  if (input.routed === PASSTHROUGH_CLUSTER) {
    const { routed: _, ...unrouted } = input;
    return { ...resolveDestinationService(unrouted), name: PASSTHROUGH_CLUSTER };
  }
  if (input.routed) return serviceOf(input.routed, input.suffix);
  const host = stripPort(input.authority.trim().toLowerCase());
  if (host === "") return UNKNOWN_SERVICE;
  const dots = host.split(".").length - 1;
  const candidates = [host];
  if (dots === 0) candidates.push(`${host}.${input.namespace}.svc.${input.suffix}`);
  if (dots === 1) candidates.push(`${host}.svc.${input.suffix}`);
  if (dots === 2 && host.endsWith(".svc")) candidates.push(`${host}.${input.suffix}`);
  const known = candidates.find((c) => input.knownServices.has(c));
  if (known) return serviceOf(known, input.suffix);
  return input.hostHeaderFallback ? { host, name: host, namespace: UNKNOWN } : UNKNOWN_SERVICE;
}

function serviceOf(fqdn: string, suffix: string): DestinationService {
  const tail = `.svc.${suffix}`;
  if (fqdn.endsWith(tail)) {
    const [name, namespace] = fqdn.slice(0, -tail.length).split(".");
    if (name && namespace) return { host: fqdn, name, namespace };
  }
  return { host: fqdn, name: fqdn, namespace: UNKNOWN };
}

function stripPort(authority: string): string {
  if (authority.startsWith("[")) {
    const end = authority.indexOf("]");
    return end === -1 ? authority : authority.slice(0, end + 1);
  }
  const colon = authority.lastIndexOf(":");
  return colon === -1 ? authority : authority.slice(0, colon);
}
