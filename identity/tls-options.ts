import { createSecureContext, type SecureContext, type SecureContextOptions } from "node:tls";
import type { RotationClient, WorkloadCredentials } from "./rotation-client.ts";

/**
 * Node adapter, the interface for mTLS in the sidecar (PeerAuthentication is built on it): the
 * node:tls options of a workload's current credentials, and a secure context that follows
 * rotation. A server uses `requestCert: true` (+ `rejectUnauthorized` for STRICT) and swaps
 * contexts with `server.setSecureContext(tlsOptionsFrom(creds))`; a client passes the options to
 * `tls.connect`. Chain checks are node:tls's (against the mesh roots); the peer's SPIFFE ID is
 * `peerSpiffeId(socket.getPeerX509Certificate())` (a node:crypto X509Certificate).
 *
 * @example
 * ```ts
 * const server = tls.createServer({ ...tlsOptionsFrom(client.current!), requestCert: true, rejectUnauthorized: true }, onSocket);
 * client.onRotate((creds) => server.setSecureContext(tlsOptionsFrom(creds)));
 * ```
 */
export function tlsOptionsFrom(credentials: WorkloadCredentials): SecureContextOptions {
  return {
    cert: credentials.certChainPem,
    key: credentials.keyPem,
    ca: credentials.rootsPem,
    minVersion: "TLSv1.2",
  };
}

/** A secure context that is rebuilt on every rotation (and roots change). */
export function followSecureContext(client: RotationClient): { current(): SecureContext; stop(): void } {
  let context: SecureContext | undefined;
  const stop = client.onRotate((credentials) => {
    context = createSecureContext(tlsOptionsFrom(credentials));
  });
  return {
    current() {
      if (!client.current)
        throw new Error("followSecureContext: no certificate yet; await client.ready first");
      context ??= createSecureContext(tlsOptionsFrom(client.current));
      return context;
    },
    stop,
  };
}

/** The SPIFFE ID (the one URI SAN) of a peer certificate, if it has exactly one. */
export function peerSpiffeId(cert: { subjectAltName?: string | undefined } | undefined): string | undefined {
  const uris = (cert?.subjectAltName ?? "")
    .split(", ")
    .filter((name) => name.startsWith("URI:"))
    .map((name) => name.slice(4));
  return uris.length === 1 && uris[0]?.startsWith("spiffe://") ? uris[0] : undefined;
}
