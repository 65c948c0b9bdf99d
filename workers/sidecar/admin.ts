import { createServer } from "node:http";
import type { AddressInfo } from "node:net";

/** What the admin listener shows. */
export interface AdminSource {
  stats(): object;
  snapshot(): object;
  /** Prometheus text exposition for `GET /stats/prometheus` (Istio's proxy metrics path). */
  prometheus?(): Promise<string>;
  prometheusContentType?: string;
  /**
   * Kubelet probes rewritten by the injector (`/app-health/<container>/livez|readyz|startupz`):
   * the app's answer, or undefined for a path no probe was rewritten to.
   */
  appHealth?(path: string): Promise<{ status: number; body: string }> | undefined;
}

/** A running admin listener. */
export interface AdminListener {
  readonly port: number;
  close(): Promise<void>;
}

/**
 * The sidecar's own status endpoint, on a separate port so it never shadows app paths:
 * `GET /ready`, `GET /stats` (sync, compile and request counters), `GET /config_dump` (snapshot),
 * `GET /stats/prometheus` (Istio metrics, Prometheus text format), and the rewritten kubelet probes
 * `GET /app-health/<container>/livez|readyz|startupz` (plaintext, so they work under STRICT mTLS).
 *
 * @example
 * ```ts
 * const admin = await startAdminListener(sidecar, "127.0.0.1", 15020);
 * // curl 127.0.0.1:15020/stats
 * ```
 */
export async function startAdminListener(
  source: AdminSource,
  host: string,
  port: number,
): Promise<AdminListener> {
  const server = createServer((req, res) => {
    const path = (req.url ?? "/").split("?")[0] ?? "/";
    if (path.startsWith("/app-health/") && req.method === "GET" && source.appHealth) {
      const probe = source.appHealth(path);
      if (probe) {
        probe.then(({ status, body }) => res.writeHead(status, { "content-type": "text/plain" }).end(body));
        return;
      }
    }
    if (path === "/stats/prometheus" && req.method === "GET" && source.prometheus) {
      source.prometheus().then(
        (text) =>
          res.writeHead(200, { "content-type": source.prometheusContentType ?? "text/plain" }).end(text),
        (error: unknown) => res.writeHead(500, { "content-type": "text/plain" }).end(`${String(error)}\n`),
      );
      return;
    }
    const body =
      path === "/ready" || path === "/healthz/ready" // the latter: what injected Pods probe (Istio's path)
        ? { ready: true }
        : path === "/stats"
          ? source.stats()
          : path === "/config_dump"
            ? source.snapshot()
            : undefined;
    const status = req.method !== "GET" ? 405 : body === undefined ? 404 : 200;
    const text =
      status === 200
        ? JSON.stringify(body, null, 2)
        : JSON.stringify({ error: "try /ready, /stats, /stats/prometheus or /config_dump" });
    res.writeHead(status, { "content-type": "application/json" }).end(`${text}\n`);
  });
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(port, host, () => resolve());
  });
  return {
    port: (server.address() as AddressInfo).port,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}
