import { Hono } from "hono";
import { bodyLimit } from "hono/body-limit";
import { applyRoutes } from "./apply-routes.ts";
import { requireBearerToken } from "./auth.ts";
import { authzRoutes } from "./authz-routes.ts";
import { caRoutes } from "./ca-routes.ts";
import { eventRoutes } from "./event-routes.ts";
import { AdminHttpError, body, errorResponse } from "./http-errors.ts";
import { proxyStatusRoutes } from "./proxy-status-routes.ts";
import { resourceRoutes } from "./resource-routes.ts";
import { rollbackRoutes } from "./rollback-routes.ts";
import type { AdminAppOptions } from "./types.ts";

/** Where every authenticated route lives. */
export const API_PREFIX = "/api/v1";

/**
 * The admin API as a Hono app: runtime-neutral (Web APIs only), everything it talks to injected.
 * Routes are documented in `control/admin/README.md`.
 *
 * @example
 * ```ts
 * const app = createAdminApp({ plane, token, events, trustJwks, log: console });
 * const server = await serveAdmin(app, { port: 15000 });
 * ```
 */
export function createAdminApp(opts: AdminAppOptions): Hono {
  const maxSize = opts.maxBodyBytes ?? 1024 * 1024;
  const api = new Hono()
    .use(requireBearerToken(opts.token))
    .use(
      bodyLimit({
        maxSize,
        onError: () => {
          throw new AdminHttpError(
            "payload-too-large",
            413,
            `the request body is larger than ${maxSize} bytes`,
          );
        },
      }),
    )
    .route("/", applyRoutes(opts.plane))
    .route("/", resourceRoutes(opts.plane))
    .route("/", rollbackRoutes(opts.plane))
    .route(
      "/",
      authzRoutes(opts.plane, { fetch: opts.fetch ?? ((url, init) => fetch(url, init)), now: Date.now }),
    )
    .route("/", eventRoutes(opts.events, { heartbeatMs: opts.heartbeatMs ?? 15_000, ...logOpt(opts) }))
    .route("/", caRoutes(opts.ca))
    .route("/", proxyStatusRoutes(opts.plane, opts.proxyReports, Date.now))
    .get("/trust", (c) => c.json(opts.trustJwks))
    .get("/proxies", async (c) => {
      if (!opts.proxyReports)
        throw new AdminHttpError("not-found", 404, "this control plane has no proxy reports");
      return c.json({ items: await opts.proxyReports() });
    });

  return new Hono()
    .get("/healthz", (c) => c.json({ status: "ok" }))
    .get("/readyz", async (c) => {
      const readiness = opts.ready ? await opts.ready() : { ready: true, checks: {} };
      return c.json(
        { status: readiness.ready ? "ready" : "not-ready", checks: readiness.checks },
        readiness.ready ? 200 : 503,
      );
    })
    .get("/stats/prometheus", (c) =>
      opts.prometheus
        ? c.body(opts.prometheus(), 200, { "content-type": "text/plain; version=0.0.4; charset=utf-8" })
        : c.json(body("not-found", "no metrics on this control plane"), 404),
    )
    .route(API_PREFIX, api)
    .notFound((c) => c.json(body("not-found", `no route ${c.req.method} ${c.req.path}`), 404))
    .onError((error, c) => errorResponse(c, error, opts.log));
}

function logOpt(opts: AdminAppOptions) {
  return opts.log ? { log: opts.log } : {};
}
