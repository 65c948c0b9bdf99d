import type { TrafficPolicy } from "../model/destination-rule.ts";
import type { ServicePort } from "../model/service.ts";
import type { WorkloadEntrySpec } from "../model/workload-entry.ts";
import { clusterTlsOf } from "./cluster-tls.ts";
import { compileDiagnostic } from "./compile-diagnostics.ts";
import type { DestinationPolicy } from "./destination-policy.ts";
import { headlessPods, podHost, podHostname } from "./headless.ts";
import { type Protocol, selectPortProtocol } from "./protocol.ts";
import type { Indexed, IndexedService } from "./resource-index.ts";
import type { Cluster, Diagnostic, Endpoint } from "./snapshot.ts";
import { compileClusterPolicy, DEFAULT_LOAD_BALANCER, effectiveTrafficPolicy } from "./traffic-policy.ts";

export { DEFAULT_LOAD_BALANCER };

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
  // A ServiceEntry's endpoints come already selected (inline endpoints or its workloadSelector).
  const selected = service.entry
    ? workloadEntries
    : Object.keys(selector).length === 0
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
    const protocol = declaredProtocol(port);
    clusters[name] = {
      name,
      service: service.fqdn,
      port: port.port,
      ...protocol,
      endpoints,
      ...compileClusterPolicy(effectiveTrafficPolicy(policy?.trafficPolicy, undefined, port.port)),
      ...clusterTlsOf(effectiveTrafficPolicy(policy?.trafficPolicy, undefined, port.port)),
    };
    // Headless Services: one cluster per pod, so `<pod>.<service>` reaches that pod only.
    for (const we of headlessPods(service, members)) {
      const host = podHost(podHostname(we), service);
      const podCluster = clusterName(port.port, undefined, host);
      clusters[podCluster] = {
        ...(clusters[name] as Cluster),
        name: podCluster,
        endpoints: [endpointFor(we, port)],
      };
    }
    for (const [subset, def] of policy?.subsets ?? []) {
      const subsetName = clusterName(port.port, subset, service.fqdn);
      clusters[subsetName] = {
        name: subsetName,
        service: service.fqdn,
        port: port.port,
        ...protocol,
        subset,
        endpoints: endpoints.filter((e) => Object.entries(def.labels).every(([k, v]) => e.labels[k] === v)),
        ...compileClusterPolicy(effectiveTrafficPolicy(policy?.trafficPolicy, def.trafficPolicy, port.port)),
        ...clusterTlsOf(effectiveTrafficPolicy(policy?.trafficPolicy, def.trafficPolicy, port.port)),
      };
    }
  }
  return clusters;
}

/** `{ protocol }` unless the port is plain HTTP/1.1 (declared or not), which clusters leave implicit. */
function declaredProtocol(port: ServicePort): { protocol?: Protocol } {
  const protocol = selectPortProtocol(port);
  return protocol === "HTTP" || protocol === "Unsupported" ? {} : { protocol };
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
    // Weight 0 is Istio's "unset" and 1 the default: only larger weights change the picks.
    ...(we.spec.weight !== undefined && we.spec.weight > 1 ? { weight: we.spec.weight } : {}),
  };
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
        lb?.consistentHash?.maglev ? "loadBalancer.consistentHash.maglev" : "",
        lb?.localityLbSetting ? "loadBalancer.localityLbSetting" : "",
        tp?.connectionPool?.http?.maxRetries !== undefined ? "connectionPool.http.maxRetries" : "",
        tp?.outlierDetection?.consecutiveLocalOriginFailures !== undefined
          ? "outlierDetection.consecutiveLocalOriginFailures"
          : "",
        tp?.outlierDetection?.minHealthPercent !== undefined ? "outlierDetection.minHealthPercent" : "",
      ].filter(Boolean);
      for (const field of fields) {
        diagnostics.push(
          compileDiagnostic(
            "warning",
            "JIBE2008",
            rule.ref,
            `${path}.${field.split(":")[0]}`,
            field.endsWith("maglev")
              ? `${field} is accepted; Jibe uses a ring hash (same stickiness, minimal disruption)`
              : `${field} is accepted but not enforced by Jibe yet`,
          ),
        );
      }
    }
  }
}
