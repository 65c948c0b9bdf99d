import type { Socket } from "node:net";
import {
  createServer as createTlsServer,
  type TLSSocket,
  type TlsOptions,
  type Server as TlsServer,
} from "node:tls";
import type { Logger } from "../../broker/logger.ts";
import type { GatewayServerConfig } from "../../control/compile/snapshot.ts";
import type { ConnectionGate } from "../sidecar/listener.ts";
import { peekClientHello } from "./client-hello.ts";
import { clientSanAllowed, selectServer } from "./server-tls.ts";

/** What the gateway's listeners count, over all ports. */
export interface GatewayConnectionStats {
  /** TLS connections terminated (SIMPLE / MUTUAL) and handed to HTTP routing. */
  terminated: number;
  /** TLS connections forwarded untouched (PASSTHROUGH). */
  passthrough: number;
  plaintext: number;
  /** Refused before any handshake: no server for the SNI, not TLS on a TLS port, unsupported mode. */
  refused: number;
  /** Handshakes that failed: no or a foreign client certificate (MUTUAL), protocol or cipher mismatch. */
  handshakeFailures: number;
}

/** What {@link createServerGate} needs. */
export interface ServerGateOptions {
  /** The servers of this listener's port in the snapshot in force (read per connection). */
  servers: () => readonly GatewayServerConfig[];
  /**
   * The TLS options of a SIMPLE / MUTUAL server (`serverTlsOptions`), the same object while its
   * settings and files are unchanged; throws when its credentials cannot be loaded.
   */
  tlsOptions: (server: GatewayServerConfig) => TlsOptions;
  passthrough: (socket: Socket, hello: Buffer, server: GatewayServerConfig, serverName?: string) => void;
  stats: GatewayConnectionStats;
  log: Logger;
  /** How long a client may take to send its ClientHello and finish the handshake; default 10 s. */
  handshakeTimeoutMs?: number;
}

const PLAIN_PROTOCOLS = new Set(["HTTP", "HTTP2", "GRPC", "GRPC-WEB"]);
/** A ClientHello never needs more than one maximum-size record. */
const MAX_PEEK = 16_384 + 261;

/**
 * The connection gate of one gateway port: plain HTTP servers are served as they are; on a TLS port
 * the ClientHello's SNI picks the server (`selectServer`; none → refused), then a PASSTHROUGH
 * server forwards the stream untouched, and a SIMPLE or MUTUAL server terminates TLS with its own
 * certificate (MUTUAL: a client certificate chaining to its CA is required, and must carry one of
 * `subjectAltNames` when set) and hands the decrypted connection to HTTP routing.
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
      if (
        server.tls?.mode === "MUTUAL" &&
        !clientSanAllowed(socket.getPeerCertificate()?.subjectaltname, server.tls.subjectAltNames)
      ) {
        stats.handshakeFailures++;
        log.debug(`gateway ${server.origin}: client certificate SANs are not among tls.subjectAltNames`);
        return void socket.destroy();
      }
      socket.on("error", () => socket.destroy());
      stats.terminated++;
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
      const secured = servers.filter((s) => !PLAIN_PROTOCOLS.has(s.protocol));
      if (servers.length > 0 && secured.length === 0) {
        stats.plaintext++;
        return deliver(socket);
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
        if (!server || (mode !== "PASSTHROUGH" && mode !== "SIMPLE" && mode !== "MUTUAL")) {
          stats.refused++;
          log.debug(
            peek.kind === "clientHello"
              ? `gateway: no server for SNI ${peek.serverName ?? "(none)"}${mode ? ` (tls mode ${mode} is not supported)` : ""}; refused`
              : `gateway: not a TLS ClientHello from ${socket.remoteAddress}; refused`,
          );
          return void socket.destroy();
        }
        if (mode === "PASSTHROUGH") {
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
