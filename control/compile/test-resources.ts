import type { StoredResource } from "../../broker/events.ts";
import type { ProxyIdentity } from "./snapshot.ts";

/**
 * Builders for resources in tests (compile, engine suite). Pure data; creation timestamps are
 * explicit because Istio orders conflicting config by them.
 */

const ISTIO = "networking.istio.io/v1";

function meta(name: string, namespace: string, created?: string): StoredResource["metadata"] {
  return created === undefined ? { name, namespace } : { name, namespace, creationTimestamp: created };
}

/** A Service selecting `app: <name>` with one `http` port (or the ports given). */
export function service(
  name: string,
  opts: {
    namespace?: string;
    ports?: { name?: string; port: number; targetPort?: number | string }[];
    selector?: Record<string, string>;
  } = {},
): StoredResource {
  return {
    apiVersion: "v1",
    kind: "Service",
    metadata: meta(name, opts.namespace ?? "default"),
    spec: { selector: opts.selector ?? { app: name }, ports: opts.ports ?? [{ name: "http", port: 9080 }] },
  };
}

/** A WorkloadEntry for `app: <app>, version: <version>` at 127.0.0.1:<port> (port name `http`). */
export function workloadEntry(
  app: string,
  version: string,
  port: number,
  opts: { namespace?: string; address?: string; ports?: Record<string, number> } = {},
): StoredResource {
  return {
    apiVersion: ISTIO,
    kind: "WorkloadEntry",
    metadata: meta(`${app}-${version}`, opts.namespace ?? "default"),
    spec: {
      address: opts.address ?? "127.0.0.1",
      ports: opts.ports ?? { http: port },
      labels: { app, version },
    },
  };
}

/** A DestinationRule with one subset per version (`version: <v>` labels). */
export function destinationRule(
  host: string,
  versions: string[],
  opts: { namespace?: string; name?: string; created?: string; trafficPolicy?: unknown } = {},
): StoredResource {
  const spec: Record<string, unknown> = {
    host,
    subsets: versions.map((v) => ({ name: v, labels: { version: v } })),
  };
  if (opts.trafficPolicy) spec.trafficPolicy = opts.trafficPolicy;
  return {
    apiVersion: ISTIO,
    kind: "DestinationRule",
    metadata: meta(opts.name ?? host, opts.namespace ?? "default", opts.created),
    spec,
  };
}

/** A VirtualService with the given spec. */
export function virtualService(
  name: string,
  spec: unknown,
  opts: { namespace?: string; created?: string } = {},
): StoredResource {
  return {
    apiVersion: ISTIO,
    kind: "VirtualService",
    metadata: meta(name, opts.namespace ?? "default", opts.created),
    spec,
  };
}

/** A namespace-wide Sidecar resource setting `outboundTrafficPolicy.mode` (sidecars default to ALLOW_ANY). */
export function outboundTrafficPolicy(
  mode: "ALLOW_ANY" | "REGISTRY_ONLY",
  namespace = "default",
): StoredResource {
  return {
    apiVersion: ISTIO,
    kind: "Sidecar",
    metadata: meta("default", namespace),
    spec: { outboundTrafficPolicy: { mode } },
  };
}

/** A sidecar proxy identity in `namespace` (default "default"). */
export function sidecar(app = "productpage", namespace = "default"): ProxyIdentity {
  return { id: `sidecar~${app}~${namespace}`, role: "sidecar", namespace, labels: { app, version: "v1" } };
}

/** A gateway proxy identity implementing `gateways`. */
export function gateway(gateways: string[], namespace = "default"): ProxyIdentity {
  return { id: "edge~test", role: "gateway", namespace, labels: { app: "edge" }, gateways };
}

/**
 * The bookinfo services (productpage, details, reviews, ratings on port 9080) with one
 * WorkloadEntry per version; endpoint ports encode the version: reviews v1/v2/v3 → 19081/19082/19083.
 */
export function bookinfoMesh(): StoredResource[] {
  return [
    service("productpage"),
    service("details"),
    service("reviews"),
    service("ratings"),
    workloadEntry("productpage", "v1", 19071),
    workloadEntry("details", "v1", 19061),
    workloadEntry("details", "v2", 19062),
    workloadEntry("reviews", "v1", 19081),
    workloadEntry("reviews", "v2", 19082),
    workloadEntry("reviews", "v3", 19083),
    workloadEntry("ratings", "v1", 19091),
    workloadEntry("ratings", "v2", 19092),
  ];
}

/** Key → resource map as policy sync hands it over (`Kind/ns/name` keys). */
export function resourceMap(resources: readonly StoredResource[]): Map<string, StoredResource> {
  return new Map(resources.map((r) => [`${r.kind}/${r.metadata.namespace}/${r.metadata.name}`, r]));
}
