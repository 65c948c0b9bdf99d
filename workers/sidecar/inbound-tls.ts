import type { Socket } from "node:net";
import { createServer as createTlsServer, type TLSSocket } from "node:tls";
import type { Logger } from "../../broker/logger.ts";
import type { InboundTlsMode } from "../../control/compile/snapshot.ts";
import { parseSpiffeId } from "../../identity/spiffe-id.ts";
import { peerSpiffeId, tlsOptionsFrom } from "../../identity/tls-options.ts";
import type { ConnectionGate } from "./listener.ts";
import type { MeshTls } from "./mesh-tls.ts";

/** What the inbound listener's connection gate counts. */
export interface InboundTlsStats {
  /** Connections that completed an mTLS handshake with a mesh certificate. */
  mtls: number;
  plaintext: number;
  /** Plaintext refused under STRICT without an identity to serve TLS with (fail closed). */
  refused: number;
  /**
   * TLS handshakes that failed: plaintext under STRICT, no, an expired or a foreign client
   * certificate, or one whose SPIFFE ID is of another trust domain.
   */
  handshakeFailures: number;
}

/** What {@link createInboundTlsGate} needs. */
export interface InboundTlsGateOptions {
  /** The PeerAuthentication mode for a new connection (read from the snapshot in force). */
  mode: () => InboundTlsMode;
  /** The workload's credentials; without them only plaintext is served. */
  meshTls?: MeshTls;
  log: Logger;
}

/** TLS records start with the handshake content type. */
const TLS_HANDSHAKE = 0x16;

/**
 * The inbound listener's PeerAuthentication enforcement, per connection, with the mode in force
 * when it opens: STRICT accepts only mutual TLS (a client certificate chaining to the mesh roots),
 * PERMISSIVE looks at the first byte (0x16: TLS handshake, else plaintext) and serves both on one
 * port, DISABLE serves plaintext. The server certificate follows rotation: new connections get the
 * new one, open connections keep theirs.
 *
 * @example
 * ```ts
 * const gate = createInboundTlsGate({ mode: () => inboundTlsMode(snapshot().inboundTls, appPort), meshTls, log });
 * await startListener({ direction: "inbound", host, port, handler, log, gate });
 * ```
 */
export function createInboundTlsGate(options: InboundTlsGateOptions): ConnectionGate & {
  stats: InboundTlsStats;
  stop(): void;
} {
  const stats: InboundTlsStats = { mtls: 0, plaintext: 0, refused: 0, handshakeFailures: 0 };
  const pending = new Set<Socket>();
  const { meshTls, log } = options;
  let deliverTls: ((socket: Socket) => void) | undefined;
  const server = meshTls
    ? createTlsServer({
        ...tlsOptionsFrom(meshTls.credentials()),
        requestCert: true,
        rejectUnauthorized: true,
        ALPNProtocols: ["http/1.1"],
      })
    : undefined;
  server?.on("secureConnection", (socket: TLSSocket) => {
    // The chain led to a mesh root; the identity must also be of this mesh's trust domain.
    const id = peerSpiffeId(socket.getPeerX509Certificate());
    const parsed = id ? parseSpiffeId(id) : undefined;
    if (!parsed?.ok || parsed.trustDomain !== meshTls?.trustDomain) {
      stats.handshakeFailures++;
      log.debug(
        `inbound mTLS from ${socket.remoteAddress} refused: peer ${id ?? "has no SPIFFE ID"} is not of trust domain ${meshTls?.trustDomain}`,
      );
      socket.destroy();
      return;
    }
    stats.mtls++;
    deliverTls?.(socket);
  });
  server?.on("tlsClientError", (error, socket) => {
    stats.handshakeFailures++;
    log.debug(`inbound mTLS handshake from ${socket.remoteAddress} failed: ${error.message}`);
  });
  const unsubscribe = meshTls?.onRotate((credentials) =>
    server?.setSecureContext(tlsOptionsFrom(credentials)),
  );
  let warned = false;

  const plaintext = (socket: Socket, deliver: (socket: Socket) => void) => {
    pending.delete(socket);
    stats.plaintext++;
    deliver(socket);
  };
  const handshake = (socket: Socket, deliver: (socket: Socket) => void) => {
    deliverTls = deliver;
    server?.emit("connection", socket);
  };

  return {
    stats,
    accept(socket, deliver) {
      const mode = options.mode();
      // Errors before a handler owns the socket must not crash the process.
      socket.on("error", () => socket.destroy());
      pending.add(socket);
      socket.once("close", () => pending.delete(socket));
      if (mode === "DISABLE") return plaintext(socket, deliver);
      if (!server) {
        if (mode === "PERMISSIVE") return plaintext(socket, deliver);
        stats.refused++;
        if (!warned)
          log.warn("inbound: PeerAuthentication STRICT but this sidecar has no identity; refusing");
        warned = true;
        socket.destroy();
        return;
      }
      if (mode === "STRICT") return handshake(socket, deliver);
      socket.once("data", (chunk: Buffer) => {
        socket.pause();
        socket.unshift(chunk);
        if (chunk[0] === TLS_HANDSHAKE) return handshake(socket, deliver);
        plaintext(socket, deliver);
        // node:http reads the connection natively from here on; the peeked bytes wait in the JS buffer.
        socket.resume();
      });
    },
    /** Destroys connections still in the first-byte peek or the TLS handshake (and, after a drain, the rest). */
    closePending() {
      for (const socket of pending) socket.destroy();
      pending.clear();
    },
    stop() {
      unsubscribe?.();
    },
  };
}
