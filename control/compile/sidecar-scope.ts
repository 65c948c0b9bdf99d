import { readMeshConfig } from "../model/mesh-config.ts";
import { isExportedTo, parseNamespacedHost } from "../model/namespaced-host.ts";
import { ROOT_NAMESPACE } from "../model/policy-target.ts";
import type { SidecarSpec } from "../model/sidecar.ts";
import { compileDiagnostic } from "./compile-diagnostics.ts";
import { hostMatches } from "./host-names.ts";
import type { Indexed, IndexedService, ResourceIndex } from "./resource-index.ts";
import { NO_RETRIES } from "./route-policies.ts";
import type { Cluster, Diagnostic, ProxyIdentity, VirtualHost } from "./snapshot.ts";

/** Istio's outbound traffic modes for hosts outside the registry. */
export type OutboundTrafficMode = "ALLOW_ANY" | "REGISTRY_ONLY";

/** What a proxy sees of the mesh: which hosts, and what happens to the others. */
export interface SidecarScope {
  /** The Sidecar that applies, if any (`Sidecar/<ns>/<name>`). */
  sidecar?: string;
  /** True when a host (of a resource in `namespace`) is visible to the proxy. */
  sees(host: string, namespace: string): boolean;
  /** Sidecars: always set (Istio's default is ALLOW_ANY). Gateways: unset (an unknown host is 404 `NR`). */
  outboundMode?: OutboundTrafficMode;
  /** Where the mode comes from (`Sidecar/...`, the mesh config, or {@link DEFAULT_OUTBOUND_SOURCE}). */
  outboundModeSource?: string;
  diagnostics: Diagnostic[];
}

/** Source named by the catch-all route when neither a Sidecar nor the mesh config sets a mode. */
export const DEFAULT_OUTBOUND_SOURCE = "MeshConfig/default";

/** Name of the cluster an ALLOW_ANY proxy forwards unknown hosts to (Istio's name). */
export const PASSTHROUGH_CLUSTER = "PassthroughCluster";

/**
 * Picks the Sidecar of a proxy as Istio does: one in its namespace whose `workloadSelector`
 * matches its labels, else the namespace's one without a selector, else the root namespace's one
 * without a selector (oldest wins at each level, with a warning). Its `egress[].hosts`
 * (`ns/host`, `./host` = the proxy's namespace, `*` = any, `~` = none) decide which services and
 * VirtualService hosts the proxy sees; `exportTo` of ServiceEntries is honoured for every proxy.
 * The outbound mode of a sidecar is its Sidecar's, else the mesh config's (`outboundTrafficPolicy.mode`
 * in ConfigMap istio-system/istio), else Istio's default ALLOW_ANY. Gateways get no mode: as in
 * Istio, a gateway answers a host it does not route 404 `NR`.
 *
 * @example
 * ```ts
 * const scope = selectSidecarScope(index, proxy);
 * scope.sees("reviews.default.svc.cluster.local", "default");
 * ```
 */
export function selectSidecarScope(index: ResourceIndex, proxy: ProxyIdentity): SidecarScope {
  const diagnostics: Diagnostic[] = [];
  const meshMode = meshOutboundMode(index);
  if (proxy.role !== "sidecar") return { sees: () => true, diagnostics };
  const sidecar = pickSidecar(index.sidecars, proxy, diagnostics);
  const hosts = (sidecar?.spec.egress ?? [])
    .flatMap((listener) => listener.hosts ?? [])
    .map(parseNamespacedHost);
  sidecar?.spec.egress?.forEach((listener, i) => {
    if (listener.port)
      diagnostics.push(
        compileDiagnostic(
          "warning",
          "JIBE2008",
          sidecar.ref,
          `spec.egress[${i}].port`,
          "port-specific egress listeners are not separated by Jibe; their hosts are visible on every port",
        ),
      );
  });
  const unenforced: [string, unknown][] = [
    ["spec.ingress", sidecar?.spec.ingress],
    ["spec.outboundTrafficPolicy.egressProxy", sidecar?.spec.outboundTrafficPolicy?.egressProxy],
    ["spec.inboundConnectionPool", sidecar?.spec.inboundConnectionPool],
  ];
  for (const [path, value] of unenforced) {
    if (sidecar && value !== undefined)
      diagnostics.push(
        compileDiagnostic(
          "warning",
          "JIBE2008",
          sidecar.ref,
          path,
          `${path.slice(5)} is accepted but not enforced by Jibe yet`,
        ),
      );
  }
  const sees = (host: string, namespace: string) =>
    !sidecar?.spec.egress?.length ||
    hosts.some((h) => {
      const ns = h.namespace === "." ? proxy.namespace : h.namespace;
      return ns !== "~" && (ns === "*" || ns === namespace) && hostMatches(h.host, host);
    });
  const mode = sidecar?.spec.outboundTrafficPolicy?.mode;
  const scope: SidecarScope = { sees, diagnostics };
  if (sidecar) scope.sidecar = sidecar.ref;
  if (mode) {
    scope.outboundMode = mode;
    scope.outboundModeSource = sidecar?.ref;
  } else if (meshMode) {
    scope.outboundMode = meshMode;
    scope.outboundModeSource = "ConfigMap/istio-system/istio";
  } else {
    scope.outboundMode = "ALLOW_ANY";
    scope.outboundModeSource = DEFAULT_OUTBOUND_SOURCE;
  }
  return scope;
}

/**
 * True when the proxy may see this service (ServiceEntry `exportTo`, then its Sidecar's egress hosts).
 *
 * @example
 * ```ts
 * isServiceVisible(index.services.get("api.example.com")!, selectSidecarScope(index, proxy), proxy);
 * ```
 */
export function isServiceVisible(
  service: IndexedService,
  scope: SidecarScope,
  proxy: ProxyIdentity,
): boolean {
  if (service.entry && !isExportedTo(service.entry.exportTo, service.namespace, proxy.namespace))
    return false;
  return scope.sees(service.fqdn, service.namespace);
}

function pickSidecar(
  sidecars: readonly Indexed<SidecarSpec>[],
  proxy: ProxyIdentity,
  diagnostics: Diagnostic[],
): Indexed<SidecarSpec> | undefined {
  const selects = (s: Indexed<SidecarSpec>) =>
    Object.entries(s.spec.workloadSelector?.labels ?? {}).every(([k, v]) => proxy.labels[k] === v);
  const levels = [
    sidecars.filter((s) => s.namespace === proxy.namespace && s.spec.workloadSelector && selects(s)),
    sidecars.filter((s) => s.namespace === proxy.namespace && !s.spec.workloadSelector),
    sidecars.filter((s) => s.namespace === ROOT_NAMESPACE && !s.spec.workloadSelector),
  ];
  for (const level of levels) {
    const [winner, ...others] = level;
    if (!winner) continue;
    for (const other of others)
      diagnostics.push(
        compileDiagnostic(
          "warning",
          "JIBE2040",
          other.ref,
          "spec.workloadSelector",
          `${winner.ref} (older) also applies to proxy ${proxy.id}; this Sidecar is ignored for it (Istio uses one Sidecar per workload)`,
        ),
      );
    return winner;
  }
  return undefined;
}

function meshOutboundMode(index: ResourceIndex): OutboundTrafficMode | undefined {
  if (!index.meshConfigData) return undefined;
  return readMeshConfig(index.meshConfigData)?.outboundTrafficPolicy?.mode;
}

/**
 * The catch-all virtual host of an outbound mode: ALLOW_ANY forwards any other host to the
 * original-destination {@link PASSTHROUGH_CLUSTER}; REGISTRY_ONLY answers 502 flagged `NR`
 * (Istio's BlackHoleCluster).
 *
 * @example
 * ```ts
 * outboundPolicyHost("REGISTRY_ONLY", "Sidecar/default/default").virtualHost.domains; // ["*"]
 * ```
 */
export function outboundPolicyHost(
  mode: OutboundTrafficMode,
  source: string,
): { virtualHost: VirtualHost; clusters: Record<string, Cluster> } {
  if (mode === "REGISTRY_ONLY")
    return {
      virtualHost: {
        name: "block_all",
        domains: ["*"],
        routes: [
          {
            origin: `${source}#outboundTrafficPolicy`,
            match: [],
            action: {
              kind: "directResponse",
              status: 502,
              body: "host is not in the mesh registry (outboundTrafficPolicy REGISTRY_ONLY)",
              flag: "NR",
            },
          },
        ],
      },
      clusters: {},
    };
  return {
    virtualHost: {
      name: "allow_any",
      domains: ["*"],
      routes: [
        {
          origin: `${source}#outboundTrafficPolicy`,
          match: [],
          action: {
            kind: "route",
            destinations: [{ cluster: PASSTHROUGH_CLUSTER, weight: 100 }],
            retries: NO_RETRIES,
          },
        },
      ],
    },
    clusters: {
      [PASSTHROUGH_CLUSTER]: {
        name: PASSTHROUGH_CLUSTER,
        service: PASSTHROUGH_CLUSTER,
        port: 0,
        loadBalancer: "ROUND_ROBIN",
        endpoints: [],
        originalDestination: true,
      },
    },
  };
}
