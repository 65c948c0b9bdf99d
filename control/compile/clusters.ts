import type { TrafficPolicy } from "../model/destination-rule.ts";
import type { ServicePort } from "../model/service.ts";
import type { WorkloadEntrySpec } from "../model/workload-entry.ts";
import { compileDiagnostic } from "./compile-diagnostics.ts";
import type { DestinationPolicy } from "./destination-policy.ts";
import type { Indexed, IndexedService } from "./resource-index.ts";
import type { Cluster, Diagnostic, Endpoint } from "./snapshot.ts";

/** Istio's default since 1.14 when a DestinationRule sets no load balancer. */
export const DEFAULT_LOAD_BALANCER: Cluster["loadBalancer"] = "LEAST_REQUEST";

/**
 * Envoy-style cluster name, as Istio names them: `outbound|<port>|<subset>|<fqdn>` (subset empty
 * for the all-endpoints cluster).
 *
 * @example
 * ```ts
 * clusterName(9080, undefined, "reviews.default.svc.cluster.local"); // "outbound|9080||reviews.default.svc.cluster.local"
 * ```
 */
export function clusterName(port: number, subset: string | undefined, fqdn: string): string {
  return `outbound|${port}|${subset ?? ""}|${fqdn}`;
}

/**
 * Builds every cluster of a Service: one per port with all endpoints, and one per port and
 * DestinationRule subset with the endpoints whose labels match the subset.
 *
 * Endpoints are the WorkloadEntries of the Service's namespace whose labels include the Service
 * selector (no selector, no endpoints, as in Kubernetes). The endpoint port is the WorkloadEntry
 * port named like the Service port (or its named targetPort), else the numeric targetPort, else
 * the Service port.
 */
export function buildServiceClusters(
  service: IndexedService,
  workloadEntries: readonly Indexed<WorkloadEntrySpec>[],
  policy: DestinationPolicy | undefined,
  diagnostics: Diagnostic[],
): Record<string, Cluster> {
  const selector = service.spec.selector ?? {};
  const selected =
    Object.keys(selector).length === 0
      ? []
      : workloadEntries.filter((we) => Object.entries(selector).every(([k, v]) => we.spec.labels?.[k] === v));
  const members = selected.filter((we) => {
    if (we.spec.address) return true;
    diagnostics.push(
      compileDiagnostic(
        "warning",
        "JIBE2011",
        we.ref,
        "spec.address",
        `${we.ref} is selected by ${service.ref} but has no address; it is not used as an endpoint`,
      ),
    );
    return false;
  });
  warnUnenforced(policy, diagnostics);
  const clusters: Record<string, Cluster> = {};
  for (const port of service.ports) {
    const endpoints = members.map((we) => endpointFor(we, port));
    const name = clusterName(port.port, undefined, service.fqdn);
    clusters[name] = {
      name,
      service: service.fqdn,
      port: port.port,
      loadBalancer: loadBalancerFor(policy?.trafficPolicy, undefined, port.port),
      endpoints,
    };
    for (const [subset, def] of policy?.subsets ?? []) {
      const subsetName = clusterName(port.port, subset, service.fqdn);
      clusters[subsetName] = {
        name: subsetName,
        service: service.fqdn,
        port: port.port,
        subset,
        loadBalancer: loadBalancerFor(policy?.trafficPolicy, def.trafficPolicy, port.port),
        endpoints: endpoints.filter((e) => Object.entries(def.labels).every(([k, v]) => e.labels[k] === v)),
      };
    }
  }
  return clusters;
}

function endpointFor(we: Indexed<WorkloadEntrySpec>, port: ServicePort): Endpoint {
  const ports = we.spec.ports ?? {};
  const target = port.targetPort;
  const named =
    (port.name ? ports[port.name] : undefined) ?? (typeof target === "string" ? ports[target] : undefined);
  return {
    address: we.spec.address ?? "",
    port: named ?? (typeof target === "number" ? target : port.port),
    labels: { ...(we.spec.labels ?? {}) },
  };
}

/** Subset policy over rule policy, port-level settings over general ones, as Istio merges them. */
function loadBalancerFor(
  rule: TrafficPolicy | undefined,
  subset: TrafficPolicy | undefined,
  port: number,
): Cluster["loadBalancer"] {
  const portLevel = (p: TrafficPolicy | undefined) =>
    p?.portLevelSettings?.find((s) => s.port?.number === port)?.loadBalancer;
  const lb = portLevel(subset) ?? subset?.loadBalancer ?? portLevel(rule) ?? rule?.loadBalancer;
  const simple = lb?.simple;
  switch (simple) {
    case "ROUND_ROBIN":
      return "ROUND_ROBIN";
    case "RANDOM":
      return "RANDOM";
    case "LEAST_REQUEST":
    case "LEAST_CONN":
      return "LEAST_REQUEST";
    case "PASSTHROUGH":
    case "UNSPECIFIED":
    case undefined:
      return DEFAULT_LOAD_BALANCER;
    default: {
      const _exhaustive: never = simple;
      return _exhaustive;
    }
  }
}

function warnUnenforced(policy: DestinationPolicy | undefined, diagnostics: Diagnostic[]): void {
  for (const rule of policy?.rules ?? []) {
    const policies: [string, TrafficPolicy | undefined][] = [
      ["spec.trafficPolicy", rule.spec.trafficPolicy],
      ...(rule.spec.subsets ?? []).map((s, i): [string, TrafficPolicy | undefined] => [
        `spec.subsets[${i}].trafficPolicy`,
        s.trafficPolicy,
      ]),
    ];
    for (const [path, tp] of policies) {
      const lb = tp?.loadBalancer;
      const fields = [
        lb?.simple === "PASSTHROUGH" ? "loadBalancer.simple: PASSTHROUGH" : "",
        lb?.consistentHash ? "loadBalancer.consistentHash" : "",
        lb?.localityLbSetting ? "loadBalancer.localityLbSetting" : "",
        tp?.connectionPool ? "connectionPool" : "",
        tp?.outlierDetection ? "outlierDetection" : "",
      ].filter(Boolean);
      for (const field of fields) {
        diagnostics.push(
          compileDiagnostic(
            "warning",
            "JIBE2008",
            rule.ref,
            `${path}.${field.split(":")[0]}`,
            `${field} is accepted but not enforced by Jibe yet; ${DEFAULT_LOAD_BALANCER} balancing and no limits apply`,
          ),
        );
      }
    }
  }
}
