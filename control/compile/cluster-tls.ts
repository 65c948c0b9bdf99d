import type { TrafficPolicy } from "../model/destination-rule.ts";
import type { Cluster, UpstreamTlsSettings } from "./snapshot.ts";

/**
 * The cluster's TLS origination from its effective DestinationRule policy: `tlsMode` and, when
 * any is given, the other `tls` fields (`sni`, `subjectAltNames`, certificate files,
 * `insecureSkipVerify`). Empty (auto-mTLS) when no `tls.mode` is set, so clusters without TLS
 * settings keep their content hash. `caCrl` is not carried (JIBE2008 would report it).
 *
 * @example
 * ```ts
 * clusterTlsOf({ tls: { mode: "DISABLE" } }); // { tlsMode: "DISABLE" }
 * clusterTlsOf({ tls: { mode: "SIMPLE", sni: "api.example.com" } }); // { tlsMode: "SIMPLE", tls: { sni: "api.example.com" } }
 * ```
 */
export function clusterTlsOf(
  policy: Pick<TrafficPolicy, "tls"> | undefined,
): Pick<Cluster, "tlsMode" | "tls"> {
  const tls = policy?.tls;
  if (!tls?.mode) return {};
  const settings: UpstreamTlsSettings = {};
  if (tls.sni) settings.sni = tls.sni;
  if (tls.subjectAltNames?.length) settings.subjectAltNames = [...tls.subjectAltNames];
  if (tls.caCertificates) settings.caCertificates = tls.caCertificates;
  if (tls.clientCertificate) settings.clientCertificate = tls.clientCertificate;
  if (tls.privateKey) settings.privateKey = tls.privateKey;
  if (tls.credentialName) settings.credentialName = tls.credentialName;
  if (tls.insecureSkipVerify) settings.insecureSkipVerify = true;
  return Object.keys(settings).length > 0 ? { tlsMode: tls.mode, tls: settings } : { tlsMode: tls.mode };
}
