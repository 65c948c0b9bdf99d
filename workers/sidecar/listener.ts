import { createServer, type Server, type ServerResponse } from "node:http";
import type { AddressInfo, Socket } from "node:net";
import type { Logger } from "../../broker/logger.ts";
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
 * A `node:http` server feeding each request into a pipeline.
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
  const server: Server = createServer({ keepAliveTimeout: 30_000 }, (req, res) => {
    active.add(res);
    if (draining) res.setHeader("connection", "close");
    res.once("close", () => {
      active.delete(res);
      if (draining && active.size === 0) drained?.();
    });
    const ctx = createContext(options.direction, req, res);
    options.handler(ctx).catch((error: unknown) => {
      options.log.error(`sidecar ${options.direction} listener: ${String(error)}`);
      res.destroy();
    });
  });
  const gate = options.gate;
  if (gate) {
    const serveHttp = server.listeners("connection") as ((socket: Socket) => void)[];
    server.removeAllListeners("connection");
    const deliver = (socket: Socket) => {
      for (const listener of serveHttp) listener.call(server, socket);
    };
    server.on("connection", (socket: Socket) => gate.accept(socket, deliver));
  }
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
      for (const res of active) if (!res.headersSent) res.setHeader("connection", "close");
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
      await closed;
    },
  };
}
