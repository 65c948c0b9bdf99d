import { Hono } from "hono";
import type { ProxyReport } from "../../broker/proxy-report.ts";
import type { ControlPlane } from "../plane/types.ts";
import { AdminHttpError } from "./http-errors.ts";
import { createProxyRoster } from "./proxy-roster.ts";
import { proxyStatusDetail, proxyStatuses } from "./proxy-status.ts";

/**
 * `GET /proxy-status` (one line per proxy) and `GET /proxy-status/:proxy` (one proxy, with the
 * resources written after the revision it applied). Reports are gathered on the bus at each call;
 * proxies seen before but silent now stay listed as `NOT REPORTING`.
 *
 * @example
 * ```ts
 * api.route("/", proxyStatusRoutes(plane, () => collectProxyReports(nc), Date.now));
 * ```
 */
export function proxyStatusRoutes(
  plane: ControlPlane,
  proxyReports: (() => Promise<ProxyReport[]>) | undefined,
  now: () => number,
): Hono {
  const roster = createProxyRoster();
  const observe = async () => {
    if (!proxyReports) throw new AdminHttpError("not-found", 404, "this control plane has no proxy reports");
    // Reports first: the store read after them is at least as new as what any proxy applied.
    const reports = await proxyReports();
    return { observed: roster.observe(reports, now()), views: await plane.list() };
  };
  return new Hono()
    .get("/proxy-status", async (c) => {
      const { observed, views } = await observe();
      return c.json({ items: proxyStatuses(observed, views, now()) });
    })
    .get("/proxy-status/:proxy", async (c) => {
      const id = c.req.param("proxy");
      const { observed, views } = await observe();
      const detail = proxyStatusDetail(observed, views, id, now());
      if (!detail)
        throw new AdminHttpError(
          "not-found",
          404,
          `no proxy "${id}" has reported; list the proxies with: jibe proxy-status`,
        );
      return c.json(detail);
    });
}
