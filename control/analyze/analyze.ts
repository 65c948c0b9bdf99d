import { hostMatches, resolveHost, serviceFqdn } from "../compile/host-names.ts";
import type { Diagnostic } from "../compile/snapshot.ts";
import type { AnalysisCode } from "./analysis-codes.ts";

/** A resource as applied (from the admin API or a file): only the fields the checks read. */
export interface AnalyzedResource {
  apiVersion?: string;
  kind?: string;
  metadata?: {
    name?: string;
    namespace?: string;
    labels?: Record<string, string>;
    creationTimestamp?: string | null;
  };
  spec?: unknown;
}

/** What the analyzer knows of the cluster(s), when it knows anything. */
export interface ClusterFacts {
  namespaces: readonly { name: string; labels: Readonly<Record<string, string>> }[];
}

export interface AnalysisInput {
  resources: readonly AnalyzedResource[];
  /** Namespace labels (kube API or adapter); without them the injection check is skipped. */
  cluster?: ClusterFacts;
  /** Cluster DNS suffix; default `cluster.local`. */
  domainSuffix?: string;
}

export interface AnalysisResult {
  diagnostics: Diagnostic[];
  /** Checks not run for lack of input, and why (printed as notes). */
  skipped: string[];
}

/** Namespaces never injected (mirrors the injector and its webhook configuration). */
const NEVER_INJECTED = ["kube-system", "kube-public", "kube-node-lease", "jibe-system", "istio-system"];
/** Port name prefixes Istio reads as a protocol (`http-web`, `grpc`, ...). */
const PROTOCOL_PREFIXES = [
  "http",
  "http2",
  "https",
  "grpc",
  "grpc-web",
  "tcp",
  "tls",
  "udp",
  "mongo",
  "mysql",
  "redis",
];

type Vs = {
  hosts?: string[];
  gateways?: string[];
  http?: { route?: { destination?: { host?: string; subset?: string } }[] }[];
  tcp?: { route?: { destination?: { host?: string; subset?: string } }[] }[];
  tls?: { route?: { destination?: { host?: string; subset?: string } }[] }[];
};
type Dr = {
  host?: string;
  subsets?: { name?: string; labels?: Record<string, string> }[];
  workloadSelector?: unknown;
};
type Svc = {
  selector?: Record<string, string>;
  ports?: { name?: string; port?: number; appProtocol?: string }[];
};
type We = { labels?: Record<string, string> };

/**
 * Finds problems in applied configuration that validation alone cannot see, because they involve
 * several resources (or the cluster): subsets nobody defines, hosts that are no Service, duplicate
 * rules, namespaces without injection, ports without protocol. Pure; codes in `ANALYSIS_CODES`.
 *
 * @example
 * ```ts
 * const { diagnostics } = analyzeConfig({ resources: [vsRoutingToSubsetV3, reviewsService] });
 * diagnostics[0].code; // "JIBE3001"
 * ```
 */
export function analyzeConfig(input: AnalysisInput): AnalysisResult {
  const suffix = input.domainSuffix ?? "cluster.local";
  const diagnostics: Diagnostic[] = [];
  const skipped: string[] = [];
  const report = (
    severity: Diagnostic["severity"],
    code: AnalysisCode,
    r: AnalyzedResource,
    path: string,
    message: string,
  ) => diagnostics.push({ severity, code, resource: idOf(r), path, message });

  const byKind = (kind: string) =>
    [...input.resources].filter((r) => r.kind === kind).sort(oldestFirst) as (AnalyzedResource & {
      spec: never;
    })[];
  const services = byKind("Service");
  const vss = byKind("VirtualService");
  const drs = byKind("DestinationRule");
  const wes = byKind("WorkloadEntry");
  const gateways = byKind("Gateway").filter((g) => g.apiVersion?.startsWith("networking.istio.io/") ?? true);
  const serviceByFqdn = new Map(services.map((s) => [serviceFqdn(nameOf(s), nsOf(s), suffix), s]));
  // ServiceEntries add hosts to the registry too (an internal-looking name may be one of them).
  const entryHosts = byKind("ServiceEntry").flatMap((se) =>
    ((se.spec as { hosts?: string[] } | undefined)?.hosts ?? []).map((h) => resolveHost(h, nsOf(se), suffix)),
  );
  const knownHosts = [...serviceByFqdn.keys(), ...entryHosts];
  const isMeshHost = (fqdn: string) => knownHosts.some((h) => hostMatches(fqdn, h) || hostMatches(h, fqdn));
  const internal = (fqdn: string) => fqdn.endsWith(`.svc.${suffix}`);

  // Subsets defined per host FQDN (any namespace: Istio merges DestinationRules by visibility).
  const subsets = new Map<string, Set<string>>();
  for (const dr of drs) {
    const spec = (dr.spec ?? {}) as Dr;
    const host = resolveHost(spec.host ?? "", nsOf(dr), suffix);
    const set = subsets.get(host) ?? new Set<string>();
    for (const s of spec.subsets ?? []) if (s.name) set.add(s.name);
    subsets.set(host, set);
  }

  const hostOwner = new Map<string, AnalyzedResource>();
  for (const vs of vss) {
    const spec = (vs.spec ?? {}) as Vs;
    const gatewayNames = spec.gateways ?? [];
    const forMesh = gatewayNames.length === 0 || gatewayNames.includes("mesh");
    (spec.hosts ?? []).forEach((host, i) => {
      const fqdn = resolveHost(host, nsOf(vs), suffix);
      if (forMesh && internal(fqdn) && !isMeshHost(fqdn))
        report(
          "warning",
          "JIBE3003",
          vs,
          `spec.hosts[${i}]`,
          `host "${host}" (${fqdn}) is not a Service: check the name, or add the Service`,
        );
      if (!forMesh) return;
      const key = `${fqdn}`;
      const owner = hostOwner.get(key);
      if (owner)
        report(
          "warning",
          "JIBE3008",
          vs,
          `spec.hosts[${i}]`,
          `host "${host}" is already routed by ${idOf(owner)} (older): merge the two VirtualServices`,
        );
      else hostOwner.set(key, vs);
    });
    gatewayNames.forEach((gateway, i) => {
      if (gateway === "mesh") return;
      const [gwNs, gwName] = gateway.includes("/") ? gateway.split("/") : [nsOf(vs), gateway];
      if (!gateways.some((g) => nsOf(g) === gwNs && nameOf(g) === gwName))
        report(
          "error",
          "JIBE3009",
          vs,
          `spec.gateways[${i}]`,
          `Gateway ${gwNs}/${gwName} does not exist: create it, or fix the name (namespace/name)`,
        );
    });
    for (const section of ["http", "tcp", "tls"] as const) {
      (spec[section] ?? []).forEach((rule, r) => {
        (rule.route ?? []).forEach((route, d) => {
          const destination = route.destination ?? {};
          const path = `spec.${section}[${r}].route[${d}].destination`;
          const fqdn = resolveHost(destination.host ?? "", nsOf(vs), suffix);
          if (internal(fqdn) && !isMeshHost(fqdn))
            report(
              "error",
              "JIBE3004",
              vs,
              `${path}.host`,
              `"${destination.host}" is not a Service: requests routed here answer 503`,
            );
          if (destination.subset && !subsets.get(fqdn)?.has(destination.subset)) {
            const known = [...(subsets.get(fqdn) ?? [])];
            report(
              "error",
              "JIBE3001",
              vs,
              `${path}.subset`,
              `subset "${destination.subset}" of ${fqdn} is not defined by any DestinationRule${known.length ? ` (defined: ${known.join(", ")})` : ""}: add it to the DestinationRule for ${destination.host}`,
            );
          }
        });
      });
    }
  }

  const drOwner = new Map<string, AnalyzedResource>();
  for (const dr of drs) {
    const spec = (dr.spec ?? {}) as Dr;
    const host = resolveHost(spec.host ?? "", nsOf(dr), suffix);
    const key = `${nsOf(dr)}|${host}|${JSON.stringify(spec.workloadSelector ?? null)}`;
    const owner = drOwner.get(key);
    if (owner)
      report(
        "warning",
        "JIBE3007",
        dr,
        "spec.host",
        `${idOf(owner)} (older) already configures ${host} in namespace ${nsOf(dr)}: merge the two`,
      );
    else drOwner.set(key, dr);
    const service = serviceByFqdn.get(host);
    const selector = (service?.spec as Svc | undefined)?.selector;
    if (!service || !selector) continue;
    const endpoints = wes.filter((we) => nsOf(we) === nsOf(service) && matchesLabels(selector, labelsOf(we)));
    if (endpoints.length === 0) continue; // no endpoint data for this Service (e.g. files only): nothing to compare
    (spec.subsets ?? []).forEach((subset, i) => {
      if (!endpoints.some((we) => matchesLabels(subset.labels ?? {}, labelsOf(we))))
        report(
          "warning",
          "JIBE3002",
          dr,
          `spec.subsets[${i}].labels`,
          `no endpoint of ${host} has labels ${formatLabels(subset.labels ?? {})}: subset "${subset.name}" is empty (check the version label of its Pods)`,
        );
    });
  }
  if (wes.length === 0)
    skipped.push(
      "DestinationRule subsets were not compared with endpoints: no WorkloadEntries (endpoints) in the input",
    );

  for (const service of services) {
    ((service.spec as Svc | undefined)?.ports ?? []).forEach((port, i) => {
      if (port.appProtocol || PROTOCOL_PREFIXES.includes((port.name ?? "").split("-")[0] ?? "")) return;
      report(
        "warning",
        "JIBE3006",
        service,
        `spec.ports[${i}]`,
        `port ${port.port}${port.name ? ` ("${port.name}")` : ""} has no protocol: name it e.g. "http-${port.name || "web"}" or set appProtocol: http`,
      );
    });
  }

  if (!input.cluster) {
    skipped.push(
      "namespace injection was not checked: no cluster information (give --kubeconfig, or run in-cluster)",
    );
  } else {
    const used = new Set(services.map(nsOf));
    for (const ns of input.cluster.namespaces) {
      if (!used.has(ns.name) || NEVER_INJECTED.includes(ns.name)) continue;
      if (
        ns.labels["jibe-injection"] === "enabled" ||
        (ns.labels["istio-injection"] === "enabled" && ns.labels["jibe-injection"] !== "disabled")
      )
        continue;
      diagnostics.push({
        severity: "warning",
        code: "JIBE3005",
        resource: `Namespace/${ns.name}`,
        path: "metadata.labels",
        message: `namespace ${ns.name} has Services but is not enabled for injection: kubectl label namespace ${ns.name} jibe-injection=enabled (then restart its Pods)`,
      });
    }
  }
  return { diagnostics, skipped };
}

function nameOf(r: AnalyzedResource): string {
  return r.metadata?.name ?? "";
}

function nsOf(r: AnalyzedResource): string {
  return r.metadata?.namespace ?? "default";
}

function labelsOf(r: AnalyzedResource): Record<string, string> {
  return {
    ...((r.spec as We | undefined)?.labels ?? {}),
    ...(r.kind === "WorkloadEntry" ? {} : (r.metadata?.labels ?? {})),
  };
}

function idOf(r: AnalyzedResource): string {
  return `${r.kind}/${nsOf(r)}/${nameOf(r)}`;
}

function oldestFirst(a: AnalyzedResource, b: AnalyzedResource): number {
  // Without a creation time (a file not applied yet) a resource counts as the newest.
  const at = a.metadata?.creationTimestamp ?? "~";
  const bt = b.metadata?.creationTimestamp ?? "~";
  return at === bt ? idOf(a).localeCompare(idOf(b)) : at < bt ? -1 : 1;
}

function matchesLabels(
  selector: Readonly<Record<string, string>>,
  labels: Readonly<Record<string, string>>,
): boolean {
  return Object.entries(selector).every(([k, v]) => labels[k] === v);
}

function formatLabels(labels: Readonly<Record<string, string>>): string {
  return (
    Object.entries(labels)
      .map(([k, v]) => `${k}=${v}`)
      .join(",") || "{}"
  );
}
