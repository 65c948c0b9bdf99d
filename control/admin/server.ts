import type { AddressInfo } from "node:net";
import { serve } from "@hono/node-server";

/** A running admin server. */
export interface AdminServer {
  /** `http://host:port`, with the port actually bound. */
  url: string;
  port: number;
  /** Stops accepting, ends open connections (event streams included) and resolves when closed. */
  close(): Promise<void>;
}

/**
 * Node adapter: serves a fetch-style app (the admin Hono app) over HTTP. Port 0 picks a free port.
 *
 * @example
 * ```ts
 * const server = await serveAdmin(createAdminApp(opts), { host: "127.0.0.1", port: 0 });
 * console.log(server.url); // http://127.0.0.1:53122
 * await server.close();
 * ```
 */
export function serveAdmin(
  app: { fetch(request: Request, env: unknown): Response | Promise<Response> },
  opts: { host?: string; port?: number } = {},
): Promise<AdminServer> {
  const host = opts.host ?? "127.0.0.1";
  return new Promise((resolve, reject) => {
    const server = serve({ fetch: app.fetch, hostname: host, port: opts.port ?? 15000 });
    server.once("error", (error: NodeJS.ErrnoException) => {
      const where = `${host}:${opts.port ?? 15000}`;
      reject(
        error.code === "EADDRINUSE"
          ? new Error(
              `cannot start the admin API: ${where} is already in use (another control plane running?)`,
              {
                cause: error,
              },
            )
          : error,
      );
    });
    server.once("listening", () => {
      const { port } = server.address() as AddressInfo;
      const url = `http://${host.includes(":") ? `[${host}]` : host}:${port}`;
      resolve({
        url,
        port,
        close: () =>
          new Promise<void>((done, fail) => {
            server.close((error) => (error ? fail(error) : done()));
            if ("closeAllConnections" in server) server.closeAllConnections();
          }),
      });
    });
  });
}
