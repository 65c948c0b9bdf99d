import type { Socket } from "node:net";
import { type PeerCertificate, type SecureContext, TLSSocket, connect as tlsConnect } from "node:tls";
import type { Cluster, Endpoint } from "../../control/compile/snapshot.ts";
import type { RotationClient, WorkloadCredentials } from "../../identity/rotation-client.ts";
import { parseSpiffeId } from "../../identity/spiffe-id.ts";
import { followSecureContext, peerSpiffeId } from "../../identity/tls-options.ts";
import type { PeerIdentity } from "../engine/authz-facts.ts";
import type { ProxyContext, UpstreamAddress } from "./proxy-context.ts";

/**
 * The endpoint label that says "a Jibe sidecar (or Istio proxy) terminates mTLS here", as Istio
 * labels injected pods. Sidecars register their WorkloadEntry with it; auto-mTLS reads it.
 */
export const TLS_MODE_LABEL = "security.istio.io/tlsMode";
/** {@link TLS_MODE_LABEL}'s value for a mesh endpoint. */
export const TLS_MODE_ISTIO = "istio";

/** A sidecar's workload credentials, as node:tls needs them; follows rotation. */
export interface MeshTls {
  /** The workload's own SPIFFE ID, e.g. `spiffe://cluster.local/ns/default/sa/reviews`. */
  readonly spiffeId: string;
  readonly trustDomain: string;
  /** The credentials in force (new connections use them; open ones keep theirs). */
  credentials(): WorkloadCredentials;
  /** The client-side secure context of the current credentials (rebuilt on rotation). */
  secureContext(): SecureContext;
  /** Listens for rotations (the inbound listener swaps its server context). */
  onRotate(listener: (credentials: WorkloadCredentials) => void): () => void;
  stop(): void;
}

/**
 * Wraps a rotation client (identity/) whose first certificate is in place.
 *
 * @example
 * ```ts
 * await client.ready;
 * const meshTls = createMeshTls(client);
 * ```
 */
export function createMeshTls(client: RotationClient): MeshTls {
  const first = client.current;
  if (!first) throw new Error("createMeshTls: no certificate yet; await client.ready first");
  const parsed = parseSpiffeId(first.spiffeId);
  if (!parsed.ok) throw new Error(`createMeshTls: ${first.spiffeId} is not a SPIFFE ID`);
  const context = followSecureContext(client);
  const listeners = new Set<(credentials: WorkloadCredentials) => void>();
  const unsubscribe = client.onRotate((credentials) => {
    for (const listener of listeners) listener(credentials);
  });
  return {
    spiffeId: first.spiffeId,
    trustDomain: parsed.trustDomain,
    credentials: () => client.current ?? first,
    secureContext: () => context.current(),
    onRotate(listener) {
      listeners.add(listener);
      return () => listeners.delete(listener);
    },
    stop() {
      unsubscribe();
      context.stop();
      listeners.clear();
    },
  };
}

/**
 * The authenticated peer of an inbound request: the SPIFFE ID of a verified client certificate,
 * as `principal` without `spiffe://` (Istio's `source.principal`). Plaintext: none.
 *
 * @example
 * ```ts
 * createInboundAuthz({ ..., peerIdentity: peerIdentityOf });
 * ```
 */
export function peerIdentityOf(ctx: Pick<ProxyContext, "req">): PeerIdentity | undefined {
  const socket = ctx.req.socket;
  if (!(socket instanceof TLSSocket) || !socket.authorized) return undefined;
  const id = peerSpiffeId(socket.getPeerX509Certificate());
  return id ? { principal: id.slice("spiffe://".length) } : undefined;
}

/**
 * Auto-mTLS: whether the sidecar originates mutual TLS with its mesh certificate to `endpoint` of
 * `cluster`. A DestinationRule `tls.mode` decides when set (`ISTIO_MUTUAL`: yes; `DISABLE`: no;
 * `SIMPLE` and `MUTUAL`: no, they originate TLS with user settings, see {@link upstreamAddressFor});
 * otherwise mTLS exactly when the endpoint carries {@link TLS_MODE_LABEL}: `istio`.
 */
export function usesMeshTls(cluster: Pick<Cluster, "tlsMode">, endpoint: Pick<Endpoint, "labels">): boolean {
  switch (cluster.tlsMode) {
    case "ISTIO_MUTUAL":
      return true;
    case "DISABLE":
    case "SIMPLE":
    case "MUTUAL":
      return false;
    case undefined:
      return endpoint.labels[TLS_MODE_LABEL] === TLS_MODE_ISTIO;
    default: {
      const unknown: never = cluster.tlsMode;
      return unknown;
    }
  }
}

/**
 * The upstream address of an outbound endpoint and how to reach it: `tls` with the cluster's
 * settings for DestinationRule `SIMPLE` / `MUTUAL`; `mtls` when auto-mTLS or `ISTIO_MUTUAL` applies
 * and the sidecar has an identity (with the settings when `subjectAltNames` restrict the server's
 * SPIFFE ID); plaintext otherwise.
 */
export function upstreamAddressFor(meshTls: MeshTls | undefined) {
  return (cluster: Cluster, endpoint: Endpoint): UpstreamAddress => {
    const address: UpstreamAddress = { address: endpoint.address, port: endpoint.port };
    const origination = (mode: "SIMPLE" | "MUTUAL" | "ISTIO_MUTUAL") => ({
      // Changed settings must not reuse connections opened with the old ones.
      key: `${cluster.name}|${mode}|${JSON.stringify(cluster.tls ?? {})}`,
      mode,
      settings: cluster.tls ?? {},
      serverName: cluster.service,
    });
    if (cluster.tlsMode === "SIMPLE" || cluster.tlsMode === "MUTUAL") {
      address.transport = "tls";
      address.origination = origination(cluster.tlsMode);
    } else if (meshTls && usesMeshTls(cluster, endpoint)) {
      address.transport = "mtls";
      if (cluster.tls?.subjectAltNames?.length) address.origination = origination("ISTIO_MUTUAL");
    }
    return address;
  };
}

/**
 * Opens an mTLS connection to another sidecar with the current certificate: the server's chain must
 * lead to the mesh roots and carry a SPIFFE ID of the mesh's trust domain (there is no DNS name to
 * check: workload certificates carry only the SPIFFE URI) and, when `subjectAltNames` are given
 * (DestinationRule ISTIO_MUTUAL), be one of them.
 */
export function connectMeshTls(meshTls: MeshTls, subjectAltNames: readonly string[] = []) {
  return (options: { host?: string | null; port?: number | null }): Socket =>
    tlsConnect({
      host: options.host ?? "127.0.0.1",
      port: options.port ?? 0,
      secureContext: meshTls.secureContext(),
      rejectUnauthorized: true,
      ALPNProtocols: ["http/1.1"],
      checkServerIdentity: (_host: string, cert: PeerCertificate) => {
        const id = peerSpiffeId({ subjectAltName: cert.subjectaltname });
        const parsed = id ? parseSpiffeId(id) : undefined;
        if (!parsed?.ok || parsed.trustDomain !== meshTls.trustDomain) {
          return new Error(
            `upstream certificate has no SPIFFE ID of trust domain ${meshTls.trustDomain} (${cert.subjectaltname ?? "no SAN"})`,
          );
        }
        if (subjectAltNames.length > 0 && !subjectAltNames.includes(id as string)) {
          return new Error(
            `upstream SPIFFE ID ${id} is not in the DestinationRule's subjectAltNames (${subjectAltNames.join(", ")})`,
          );
        }
        return undefined;
      },
    });
}
