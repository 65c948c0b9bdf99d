import type { AppliedConfig } from "../../broker/proxy-report.ts";
import type { ProxyIdentity, Snapshot } from "../../control/compile/snapshot.ts";

/**
 * The applied-config part of a proxy report: the snapshot in force and how it was compiled, so the
 * control plane can compile the same view and compare hashes (`jibe proxy-status`).
 *
 * @example
 * ```ts
 * const report = { ...base, kind: "sidecar", config: appliedConfigOf(proxy, policy.current().snapshot) };
 * ```
 */
export function appliedConfigOf(proxy: ProxyIdentity, snapshot: Snapshot): AppliedConfig {
  return {
    revision: snapshot.revision,
    version: snapshot.version,
    role: proxy.role,
    ...(proxy.gateways ? { gateways: proxy.gateways } : {}),
    ...(proxy.domainSuffix ? { domainSuffix: proxy.domainSuffix } : {}),
  };
}
