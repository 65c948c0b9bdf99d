import type { StoredResource } from "../../broker/events.ts";
import { isNamespaceWide, type MtlsMode, type PeerAuthenticationSpec } from "../model/peer-authentication.ts";
import { ROOT_NAMESPACE } from "../model/policy-target.ts";
import { compileDiagnostic } from "./compile-diagnostics.ts";
import type { Diagnostic, InboundTls, InboundTlsMode, ProxyIdentity } from "./snapshot.ts";

/** A PeerAuthentication as the compiler holds it: `resource` is set only when it validated. */
export interface CheckedPeerAuthentication {
  raw: StoredResource;
  resource?: StoredResource;
}

type Level = "mesh" | "namespace" | "workload";

/**
 * The effective inbound mTLS mode of a sidecar, with Istio's precedence: a workload policy (a
 * selector matching the proxy's labels, in its namespace) over the namespace policy (no selector)
 * over the mesh policy (no selector, root namespace); `UNSET` inherits from the level above; the
 * default is PERMISSIVE. Several policies at one level: the oldest (`creationTimestamp`, then name,
 * then namespace) wins and the others are reported. `portLevelMtls` of the workload policy maps
 * workload ports; an `UNSET` port inherits the workload's mode. Selector policies in the root
 * namespace are ignored, as Istio does. Invalid policies are ignored (validation reported them).
 *
 * @example
 * ```ts
 * compileInboundTls([{ raw: pa, resource: pa }], proxy).inboundTls; // { defaultMode: "STRICT", ports: {} }
 * ```
 */
export function compileInboundTls(
  resources: Iterable<CheckedPeerAuthentication>,
  proxy: ProxyIdentity,
): { inboundTls?: InboundTls; diagnostics: Diagnostic[] } {
  const byLevel: Record<Level, StoredResource[]> = { mesh: [], namespace: [], workload: [] };
  let any = false;
  for (const { raw, resource } of resources) {
    if (raw.kind !== "PeerAuthentication") continue;
    any = true;
    if (!resource) continue;
    const level = levelFor(resource, proxy);
    if (level) byLevel[level].push(resource);
  }
  if (!any || proxy.role !== "sidecar") return { diagnostics: [] };
  const diagnostics: Diagnostic[] = [];
  const winner = (level: Level) => {
    const [first, ...others] = byLevel[level].sort(olderFirst);
    for (const other of others)
      diagnostics.push(
        compileDiagnostic(
          "warning",
          "JIBE2014",
          refOf(other),
          "spec",
          `${refOf(other)} is ignored for ${proxy.id}: ${first ? refOf(first) : ""} applies at the same (${level}) level and is older; keep one ${level}-wide policy`,
        ),
      );
    return first;
  };
  const inboundTls: InboundTls = { defaultMode: "PERMISSIVE", ports: {} };
  for (const level of ["mesh", "namespace", "workload"] as const) {
    const policy = winner(level);
    if (!policy) continue;
    const spec = policy.spec as PeerAuthenticationSpec;
    const mode = effective(spec.mtls?.mode);
    if (mode) inboundTls.defaultMode = mode;
    inboundTls[level] = refOf(policy);
    if (level !== "workload") continue;
    for (const [port, mtls] of Object.entries(spec.portLevelMtls ?? {}))
      inboundTls.ports[Number(port)] = effective(mtls.mode) ?? inboundTls.defaultMode;
  }
  return { inboundTls, diagnostics };
}

/**
 * The mode of one inbound (workload) port under a compiled {@link InboundTls}; PERMISSIVE when no
 * PeerAuthentication exists.
 *
 * @example
 * ```ts
 * inboundTlsMode(snapshot.inboundTls, 9080); // "STRICT"
 * ```
 */
export function inboundTlsMode(inboundTls: InboundTls | undefined, port: number): InboundTlsMode {
  return inboundTls?.ports[port] ?? inboundTls?.defaultMode ?? "PERMISSIVE";
}

function levelFor(resource: StoredResource, proxy: ProxyIdentity): Level | undefined {
  const { namespace } = resource.metadata;
  const spec = resource.spec as PeerAuthenticationSpec;
  if (isNamespaceWide(spec)) {
    if (namespace === ROOT_NAMESPACE) return "mesh";
    return namespace === proxy.namespace ? "namespace" : undefined;
  }
  if (namespace === ROOT_NAMESPACE || namespace !== proxy.namespace) return undefined;
  for (const [key, value] of Object.entries(spec.selector?.matchLabels ?? {}))
    if (proxy.labels[key] !== value) return undefined;
  return "workload";
}

function effective(mode: MtlsMode | undefined): InboundTlsMode | undefined {
  return mode === undefined || mode === "UNSET" ? undefined : mode;
}

function olderFirst(a: StoredResource, b: StoredResource): number {
  const ta = timeOf(a);
  const tb = timeOf(b);
  if (ta !== tb) return ta - tb;
  const byName = compare(a.metadata.name, b.metadata.name);
  return byName !== 0 ? byName : compare(a.metadata.namespace, b.metadata.namespace);
}

/** A resource without a creation time sorts as the newest (it was never stamped by an apply). */
function timeOf(resource: StoredResource): number {
  const time = Date.parse(resource.metadata.creationTimestamp ?? "");
  return Number.isNaN(time) ? Number.POSITIVE_INFINITY : time;
}

function compare(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

function refOf(resource: StoredResource): string {
  return `PeerAuthentication/${resource.metadata.namespace}/${resource.metadata.name}`;
}
