import { createServer, type IncomingMessage, type Server, ServerResponse } from "node:http";
import { createServer as createHttp2Server, type Http2ServerRequest, type Http2Session } from "node:http2";
import type { AddressInfo, Socket } from "node:net";
import type { Duplex } from "node:stream";
import { TLSSocket } from "node:tls";
import type { Logger } from "../../broker/logger.ts";
import { isHttp2Preface, PeekedSocket } from "./peeked-socket.ts";
import { createContext, type Direction, type Handler } from "./proxy-context.ts";

/** Options of {@link startListener}. */
export interface ListenerOptions {
  direction: Direction;
  host: string;
  /** 0 picks a free port. */
  port: number;
  handler: Handler;
  log: Logger;
  /** Decides, per accepted connection, how it reaches HTTP (e.g. mTLS termination); default: directly. */
  gate?: ConnectionGate;
  /**
   * Per connection (after the gate), before any byte is read: a handler returned here serves it as
   * raw TCP (a port declared TCP, `protocol.ts`), so server-first protocols never wait. Else HTTP.
   */
  rawTcp?: () => ((socket: Socket) => void) | undefined;
  /** Serves HTTP `CONNECT` (tunnels to TCP services); without it CONNECT is answered 405. */
  connect?: (req: IncomingMessage, socket: Duplex, head: Buffer) => void;
}

/**
 * Stands between accepting a TCP connection and serving HTTP on it: `deliver` hands the connection
 * (the raw socket, or a TLS socket wrapping it) to the HTTP server; not delivering refuses it.
 */
export interface ConnectionGate {
  accept(socket: Socket, deliver: (socket: Socket) => void): void;
  /** Closes connections the gate still holds (called when the listener closes). */
  closePending(): void;
}

/** A running HTTP listener of the sidecar. */
export interface Listener {
  readonly port: number;
  /** Requests whose response has not completed. */
  readonly inFlight: number;
  /**
   * Stops accepting connections, lets in-flight requests finish (answering them with
   * `Connection: close`), then closes every connection; waits at most `drainMs`.
   */
  close(drainMs: number): Promise<void>;
}

/**
 * A `node:http` server feeding each request into a pipeline. The first bytes of a connection
 * decide its protocol: the HTTP/2 preface (h2c with prior knowledge) goes to a `node:http2`
 * server feeding the same pipeline, anything else to HTTP/1.1; `Upgrade` requests (WebSocket)
 * enter the pipeline too, with `ctx.upgrade` set.
 *
 * @example
 * ```ts
 * const outbound = await startListener({ direction: "outbound", host: "127.0.0.1", port: 0, handler, log });
 * await outbound.close(5_000);
 * ```
 */
export async function startListener(options: ListenerOptions): Promise<Listener> {
  const active = new Set<ServerResponse>();
  let draining = false;
  let drained: (() => void) | undefined;
  // Connections node:http no longer tracks (tunnels, upgrades, raw TCP, ones still being peeked at):
  // closed by close() after the drain, or the server would wait for them forever.
  const detached = new Set<Duplex>();
  const detach = (socket: Duplex) => {
    detached.add(socket);
    socket.once("close", () => detached.delete(socket));
  };
  const serve = (req: IncomingMessage, res: ServerResponse, upgrade?: { socket: Duplex; head: Buffer }) => {
    active.add(res);
    if (draining && req.httpVersionMajor < 2) res.setHeader("connection", "close");
    res.once("close", () => {
      active.delete(res);
      if (draining && active.size === 0) drained?.();
    });
    const ctx = createContext(options.direction, req, res);
    if (upgrade) ctx.upgrade = upgrade;
    const fail = (error: unknown) => {
      options.log.error(`sidecar ${options.direction} listener: ${String(error)}`);
      res.destroy();
      upgrade?.socket.destroy();
    };
    // Layers that await nothing are plain functions (proxy-context.ts): one may throw before any
    // promise exists, and that must not escape into node:http's request event.
    try {
      options.handler(ctx).catch(fail);
    } catch (error) {
      fail(error);
    }
  };
  const server: Server = createServer({ keepAliveTimeout: 30_000 }, serve);
  server.on("upgrade", (req: IncomingMessage, socket: Duplex, head: Buffer) => {
    // A response object on the raw socket: the pipeline answers refusals (404, 403, 503) through it.
    detach(socket);
    const res = new ServerResponse(req);
    res.assignSocket(socket as Socket);
    // A refusal ends the connection; an accepted upgrade (101 flushed, never ended) splices it instead.
    res.once("finish", () => socket.end());
    serve(req, res, { socket, head });
  });
  server.on("connect", (req: IncomingMessage, socket: Duplex, head: Buffer) => {
    socket.on("error", () => socket.destroy());
    detach(socket);
    if (options.connect) options.connect(req, socket, head);
    else socket.end("HTTP/1.1 405 Method Not Allowed\r\ncontent-length: 0\r\n\r\n");
  });

  const sessions = new Map<Http2Session, Socket>();
  let arriving: Socket | undefined;
  const http2 = createHttp2Server({}, (req, res) => {
    const transport = sessions.get(req.stream.session as Http2Session);
    // Report the connection the request came on (TLS peer, addresses), as node:http does.
    if (transport) Object.defineProperty(req, "socket", { value: transport });
    // The compatibility API mirrors node:http's request and response; the pipeline uses that common part.
    serve(req as Http2ServerRequest as unknown as IncomingMessage, res as unknown as ServerResponse);
  });
  http2.on("session", (session: Http2Session) => {
    if (!arriving) return;
    sessions.set(session, arriving);
    session.once("close", () => sessions.delete(session));
  });

  const serveHttp1 = server.listeners("connection") as ((socket: Socket) => void)[];
  server.removeAllListeners("connection");
  const deliver = (socket: Socket) => {
    const tcp = options.rawTcp?.();
    detach(socket);
    if (tcp) return tcp(socket);
    // Until a server owns the socket, a reset must not crash the process.
    socket.on("error", () => socket.destroy());
    socket.once("data", (first: Buffer) => {
      socket.pause();
      detached.delete(socket);
      if (isHttp2Preface(first)) {
        arriving = socket;
        if (socket instanceof TLSSocket) {
          // Its ALPN (`http/1.1` in mesh mTLS) would make node:http2 refuse it: served through a JS stream.
          http2.emit("connection", new PeekedSocket(socket, first));
        } else {
          // h2c: node:http2 feeds the put-back preface to the session, then reads the socket natively.
          // A JS stream wrapper here would cost a JS stream pass per frame in each direction.
          socket.unshift(first);
          http2.emit("connection", socket);
        }
        arriving = undefined;
        return;
      }
      socket.unshift(first);
      for (const listener of serveHttp1) listener.call(server, socket);
      // node:http reads the connection natively from here on; the peeked bytes wait in the JS buffer.
      socket.resume();
    });
  };
  const gate = options.gate;
  server.on("connection", (socket: Socket) => (gate ? gate.accept(socket, deliver) : deliver(socket)));
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(options.port, options.host, () => {
      server.off("error", reject);
      resolve();
    });
  });
  const port = (server.address() as AddressInfo).port;

  return {
    port,
    get inFlight() {
      return active.size;
    },
    async close(drainMs) {
      draining = true;
      // Responses not started yet tell their clients not to reuse the connection.
      for (const res of active)
        if (!res.headersSent && res.req.httpVersionMajor < 2) res.setHeader("connection", "close");
      for (const session of sessions.keys()) session.close();
      const closed = new Promise<void>((resolve) => server.close(() => resolve()));
      if (active.size > 0) {
        const idle = setInterval(() => server.closeIdleConnections(), 100);
        await new Promise<void>((resolve) => {
          drained = resolve;
          setTimeout(resolve, drainMs).unref();
        });
        clearInterval(idle);
      }
      gate?.closePending();
      server.closeAllConnections();
      for (const [session, socket] of sessions) {
        session.destroy();
        socket.destroy();
      }
      for (const socket of detached) socket.destroy();
      await closed;
    },
  };
}
