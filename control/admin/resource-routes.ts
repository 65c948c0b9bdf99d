import { Hono } from "hono";
import type { ControlPlane } from "../plane/types.ts";
import { kindParam, refParam } from "./kind-param.ts";

const ONE = "/resources/:kind/:namespace/:name";

/**
 * Reads and deletes: `GET /resources`, `GET|DELETE /resources/:kind/:namespace/:name`, `GET .../history`.
 *
 * @example
 * ```ts
 * api.route("/", resourceRoutes(plane));
 * ```
 */
export function resourceRoutes(plane: ControlPlane): Hono {
  return new Hono()
    .get("/resources", async (c) => {
      const kind = c.req.query("kind");
      const namespace = c.req.query("namespace");
      const items = await plane.list({
        ...(kind ? { kind: kindParam(kind) } : {}),
        ...(namespace ? { namespace } : {}),
      });
      return c.json({ items });
    })
    .get(ONE, async (c) => c.json(await plane.get(refParam(c.req.param()))))
    .delete(ONE, async (c) => c.json(await plane.delete(refParam(c.req.param()))))
    .get(`${ONE}/history`, async (c) => {
      const ref = refParam(c.req.param());
      return c.json({ ref, items: await plane.history(ref) });
    });
}
