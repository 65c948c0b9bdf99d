import { createHash } from "node:crypto";
import type { Socket } from "node:net";
import type { Duplex } from "node:stream";
import {
  createServer as createTlsServer,
  type TLSSocket,
  type TlsOptions,
  type Server as TlsServer,
} from "node:tls";
import type { Logger } from "../../broker/logger.ts";
import { forwardsTcp } from "../../control/compile/gateway-servers.ts";
import type { GatewayServerConfig } from "../../control/compile/snapshot.ts";
import type { ConnectionGate } from "../sidecar/listener.ts";
import { peekClientHello } from "./client-hello.ts";
import { clientCertificateRefusal, selectServer } from "./server-tls.ts";

/** What the gateway's listeners count, over all ports. */
export interface GatewayConnectionStats {
  /** TLS connections terminated (SIMPLE, MUTUAL, OPTIONAL_MUTUAL, ISTIO_MUTUAL). */
  terminated: number;
  /** TLS connections forwarded untouched (PASSTHROUGH, AUTO_PASSTHROUGH). */
  passthrough: number;
  /** Connections whose bytes are forwarded with a `tcp` route (TCP servers, TLS terminated on TLS servers). */
  tcp: number;
  /** Plain HTTP connections. */
  plaintext: number;
  /** Refused before any handshake: no server for the SNI, not TLS on a TLS port, unsupported mode. */
  refused: number;
  /** Handshakes that failed: no or a foreign client certificate (mutual modes), protocol or cipher mismatch. */
  handshakeFailures: number;
}

/** What {@link createServerGate} needs. */
export interface ServerGateOptions {
  /** The servers of this listener's port in the snapshot in force (read per connection). */
  servers: () => readonly GatewayServerConfig[];
  /**
   * The TLS options of a terminating server (`serverTlsOptions`), the same object while its
   * settings, files and mesh certificate are unchanged; throws when its credentials cannot be loaded.
   */
  tlsOptions: (server: GatewayServerConfig) => TlsOptions;
  /** PASSTHROUGH / AUTO_PASSTHROUGH (`createTlsPassthrough`). */
  passthrough: (socket: Socket, hello: Buffer, server: GatewayServerConfig, serverName?: string) => void;
  /** A TCP server's connection, or a TLS server's decrypted one: forwarded with its `tcpRoute`. */
  forward: (socket: Duplex, server: GatewayServerConfig, head?: Buffer) => void;
  stats: GatewayConnectionStats;
  log: Logger;
  /** How long a client may take to send its ClientHello and finish the handshake; default 10 s. */
  handshakeTimeoutMs?: number;
}

const PLAIN_PROTOCOLS = new Set(["HTTP", "HTTP2", "GRPC", "GRPC-WEB"]);
const TLS_PROTOCOLS = new Set(["HTTPS", "TLS"]);
const TERMINATING = new Set(["SIMPLE", "MUTUAL", "OPTIONAL_MUTUAL", "ISTIO_MUTUAL"]);
/** A ClientHello never needs more than one maximum-size record. */
const MAX_PEEK = 16_384 + 261;

/**
 * The connection gate of one gateway port: plain HTTP servers are served as they are, a TCP server
 * (`TCP`, `MONGO`, …) forwards at once (server-first protocols need no client byte); on a TLS port
 * the ClientHello's SNI picks the server (`selectServer`; none → the port's TCP server if any,
 * else refused), then a PASSTHROUGH / AUTO_PASSTHROUGH server forwards the stream untouched, and a
 * terminating server (SIMPLE, MUTUAL, OPTIONAL_MUTUAL, ISTIO_MUTUAL) ends TLS with its certificate
 * (mutual modes: the client certificate must chain to the CA — required except under
 * OPTIONAL_MUTUAL — and carry one of `subjectAltNames` when set) and hands the decrypted
 * connection to HTTP routing (`HTTPS`) or to its `tcp` route (`TLS`).
 *
 * @example
 * ```ts
 * startListener({ direction: "outbound", host, port: 8443, handler, log, gate: createServerGate(options) });
 * ```
 */
export function createServerGate(options: ServerGateOptions): ConnectionGate {
  const { stats, log } = options;
  const pending = new Set<Socket>();
  const timeoutMs = options.handshakeTimeoutMs ?? 10_000;

  // One TLS server per server settings (their options object: new settings, new object).
  const tlsServersByOptions = new WeakMap<TlsOptions, TlsServer>();
  let deliverTls: ((socket: Socket) => void) | undefined;
  const tlsServerFor = (server: GatewayServerConfig): TlsServer => {
    const tlsOptions = options.tlsOptions(server);
    let tlsServer = tlsServersByOptions.get(tlsOptions);
    if (tlsServer) return tlsServer;
    tlsServer = createTlsServer({ ...tlsOptions, handshakeTimeout: timeoutMs });
    tlsServer.on("secureConnection", (socket: TLSSocket) => {
      const peer = socket.getPeerX509Certificate();
      const pinned = Boolean(
        server.tls?.verifyCertificateHash?.length || server.tls?.verifyCertificateSpki?.length,
      );
      const refusal = clientCertificateRefusal(server.tls, {
        presented: peer !== undefined,
        authorized: socket.authorized,
        authorizationError: socket.authorizationError,
        ...(peer?.subjectAltName ? { subjectAltName: peer.subjectAltName } : {}),
        ...(peer && pinned
          ? {
              sha256: createHash("sha256").update(peer.raw).digest("hex"),
              spkiSha256: createHash("sha256")
                .update(peer.publicKey.export({ type: "spki", format: "der" }))
                .digest("base64"),
            }
          : {}),
      });
      if (refusal) {
        stats.handshakeFailures++;
        log.debug(`gateway ${server.origin}: ${refusal}; connection closed`);
        return void socket.destroy();
      }
      socket.on("error", () => socket.destroy());
      stats.terminated++;
      if (forwardsTcp(server)) {
        stats.tcp++;
        return options.forward(socket, server);
      }
      deliverTls?.(socket as unknown as Socket);
    });
    tlsServer.on("tlsClientError", (error, socket) => {
      stats.handshakeFailures++;
      log.debug(`gateway ${server.origin}: TLS from ${socket.remoteAddress}: ${error.message}`);
    });
    tlsServersByOptions.set(tlsOptions, tlsServer);
    return tlsServer;
  };

  const terminate = (socket: Socket, hello: Buffer, server: GatewayServerConfig) => {
    let tlsServer: TlsServer;
    try {
      tlsServer = tlsServerFor(server);
    } catch (error) {
      stats.refused++;
      log.warn(`gateway ${server.origin}: ${(error as Error).message}; refusing its connections`);
      return void socket.destroy();
    }
    socket.unshift(hello);
    tlsServer.emit("connection", socket);
  };

  return {
    accept(socket, deliver) {
      socket.on("error", () => socket.destroy());
      const servers = options.servers();
      const secured = servers.filter((s) => TLS_PROTOCOLS.has(s.protocol));
      const tcpServer = servers.find(
        (s) => !TLS_PROTOCOLS.has(s.protocol) && !PLAIN_PROTOCOLS.has(s.protocol),
      );
      if (servers.length > 0 && secured.length === 0) {
        if (!tcpServer) {
          stats.plaintext++;
          return deliver(socket);
        }
        stats.tcp++;
        return options.forward(socket, tcpServer);
      }
      pending.add(socket);
      socket.once("close", () => pending.delete(socket));
      const timer = setTimeout(() => socket.destroy(), timeoutMs);
      let seen = Buffer.alloc(0);
      const onData = (chunk: Buffer) => {
        seen = Buffer.concat([seen, chunk]);
        const peek = peekClientHello(seen);
        if (peek.kind === "incomplete" && seen.length < MAX_PEEK) return;
        socket.off("data", onData);
        socket.pause();
        clearTimeout(timer);
        const server = peek.kind === "clientHello" ? selectServer(secured, peek.serverName) : undefined;
        const mode = server?.tls?.mode;
        if (!server && tcpServer) {
          pending.delete(socket);
          stats.tcp++;
          return options.forward(socket, tcpServer, seen);
        }
        if (
          !server ||
          !mode ||
          (!TERMINATING.has(mode) && mode !== "PASSTHROUGH" && mode !== "AUTO_PASSTHROUGH")
        ) {
          stats.refused++;
          log.debug(
            peek.kind === "clientHello"
              ? `gateway: no server for SNI ${peek.serverName ?? "(none)"}${mode ? ` (tls mode ${mode} is not supported)` : ""}; refused`
              : `gateway: not a TLS ClientHello from ${socket.remoteAddress}; refused`,
          );
          return void socket.destroy();
        }
        if (mode === "PASSTHROUGH" || mode === "AUTO_PASSTHROUGH") {
          pending.delete(socket);
          stats.passthrough++;
          return options.passthrough(
            socket,
            seen,
            server,
            peek.kind === "clientHello" ? peek.serverName : undefined,
          );
        }
        deliverTls = deliver;
        terminate(socket, seen, server);
      };
      socket.on("data", onData);
    },
    closePending() {
      for (const socket of pending) socket.destroy();
      pending.clear();
    },
  };
}
