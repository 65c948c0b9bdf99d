import type { TrafficPolicy } from "../model/destination-rule.ts";
import type { Cluster } from "./snapshot.ts";

/**
 * The cluster's TLS origination mode from its effective DestinationRule policy; empty (auto-mTLS)
 * when no `tls.mode` is set, so clusters without TLS settings keep their content hash.
 *
 * @example
 * ```ts
 * clusterTlsOf({ tls: { mode: "DISABLE" } }); // { tlsMode: "DISABLE" }
 * ```
 */
export function clusterTlsOf(policy: Pick<TrafficPolicy, "tls"> | undefined): Pick<Cluster, "tlsMode"> {
  const mode = policy?.tls?.mode;
  return mode ? { tlsMode: mode } : {};
}
