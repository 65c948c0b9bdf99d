import { Hono } from "hono";
import { z } from "zod";
import { isJibeError } from "../../broker/errors.ts";
import type { CaAdmin } from "../../identity/ca-admin.ts";
import { AdminHttpError } from "./http-errors.ts";

const rotateSchema = z
  .object({ settleSeconds: z.number().min(0).max(3600).optional() })
  .strict()
  .optional();

/**
 * The mesh CA for operators: `GET /ca` (the roots of the trust bundle, the signing intermediate,
 * the rotation phase), `POST /ca/rotate` (body `{ settleSeconds? }`: new root trusted beside the
 * old, then the new intermediate signs) and `POST /ca/rotate/finish` (only the new root). A step that
 * does not apply now (one under way, none to finish, a plug-in CA) is `409` with the fix.
 *
 * @example
 * ```ts
 * api.route("/", caRoutes(createCaAdmin({ identity })));
 * ```
 */
export function caRoutes(ca: CaAdmin | undefined): Hono {
  const admin = (): CaAdmin => {
    if (!ca) throw new AdminHttpError("not-found", 404, "this control plane runs no mesh CA");
    return ca;
  };
  return new Hono()
    .get("/ca", (c) => c.json(admin().status()))
    .post("/ca/rotate", async (c) => {
      const text = await c.req.text();
      let parsed: z.infer<typeof rotateSchema>;
      try {
        parsed = rotateSchema.parse(text.trim() === "" ? undefined : JSON.parse(text));
      } catch {
        throw new AdminHttpError(
          "bad-request",
          400,
          'body: expected nothing or {"settleSeconds": <0..3600>} (seconds between trusting the new root and signing with it)',
        );
      }
      const settleMs = parsed?.settleSeconds === undefined ? undefined : parsed.settleSeconds * 1000;
      return c.json(await step(() => admin().rotate(settleMs === undefined ? {} : { settleMs })));
    })
    .post("/ca/rotate/finish", async (c) => c.json(await step(() => admin().finish())));
}

async function step<T>(run: () => Promise<T>): Promise<T> {
  try {
    return await run();
  } catch (error) {
    if (isJibeError(error) && error.code === "rotation-refused")
      throw new AdminHttpError("conflict", 409, error.message);
    throw error;
  }
}
