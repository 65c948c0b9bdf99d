import { contentHash } from "./hash.ts";
import { type Protocol, selectPortProtocol } from "./protocol.ts";
import type { ResourceIndex } from "./resource-index.ts";
import type { Diagnostic, ProxyIdentity, Snapshot } from "./snapshot.ts";

/**
 * The protocols of the Service ports that select a sidecar (same namespace, selector ⊆ its
 * labels), by target port: what its inbound listener serves. Undefined when every such port is
 * plain HTTP/1.1 (declared or not), so snapshots without other protocols stay as they were.
 *
 * @example
 * ```ts
 * inboundProtocolsOf(index, { ...proxy, labels: { app: "mysql" } }); // { 3306: "MySQL" }
 * ```
 */
export function inboundProtocolsOf(
  index: Pick<ResourceIndex, "services">,
  proxy: ProxyIdentity,
): Record<number, Protocol> | undefined {
  if (proxy.role !== "sidecar") return undefined;
  const out: Record<number, Protocol> = {};
  let declared = false;
  for (const service of index.services.values()) {
    const selector = Object.entries(service.spec.selector ?? {});
    if (service.namespace !== proxy.namespace || selector.length === 0) continue;
    if (!selector.every(([k, v]) => proxy.labels[k] === v)) continue;
    for (const port of service.ports) {
      const protocol = selectPortProtocol(port);
      const target = typeof port.targetPort === "number" ? port.targetPort : port.port;
      out[target] ??= protocol;
      if (protocol !== "HTTP" && protocol !== "Unsupported") declared = true;
    }
  }
  return declared ? out : undefined;
}

/** Adds {@link inboundProtocolsOf} to a compiled snapshot (and to its version hash). */
export function attachInboundProtocols(
  result: { snapshot: Snapshot; diagnostics: Diagnostic[] },
  inboundProtocols: Record<number, Protocol> | undefined,
): { snapshot: Snapshot; diagnostics: Diagnostic[] } {
  if (!inboundProtocols) return result;
  const version = contentHash({ snapshot: result.snapshot.version, inboundProtocols });
  return { ...result, snapshot: { ...result.snapshot, version, inboundProtocols } };
}
