import type { ProxyReport } from "../../broker/proxy-report.ts";
import type { ProxyIdentity, Snapshot } from "../../control/compile/snapshot.ts";
import { appliedConfigOf } from "../sidecar/applied-config.ts";

/**
 * What the Node ingress gateway answers on `jibe.proxy-report.v1`: who it is and the config it has
 * applied (`jibe proxy-status`). It has no mesh inbound listener: `inboundAddress` lists its bound
 * server ports, PeerAuthentication does not apply to it (`DISABLE`), and it observes no mesh inbound.
 *
 * @example
 * ```ts
 * serveProxyReport(nc, () => gatewayReport(proxy, snapshot(), "0.0.0.0", { 443: 8443 }));
 * ```
 */
export function gatewayReport(
  proxy: ProxyIdentity,
  snapshot: Snapshot,
  host: string,
  ports: Record<number, number>,
): ProxyReport {
  return {
    v: 1,
    proxy: proxy.id,
    kind: "gateway",
    namespace: proxy.namespace,
    labels: proxy.labels,
    at: Date.now(),
    inboundAddress: Object.values(ports)
      .map((port) => `${host}:${port}`)
      .join(","),
    peerAuthentication: { mode: "DISABLE", defaultMode: "DISABLE", ports: {} },
    inbound: { mtls: 0, plaintext: 0, principals: {} },
    outbound: [],
    config: appliedConfigOf(proxy, snapshot),
  };
}
