import { Hono } from "hono";
import { PlaneError } from "../plane/errors.ts";
import type { ControlPlane } from "../plane/types.ts";
import { AdminHttpError } from "./http-errors.ts";
import { readRequestDocuments } from "./request-documents.ts";

/**
 * Writes: `POST /apply` (`?dryRun=true` plans without writing) and `POST /validate` (never writes).
 * `/apply` answers 400 with field-level diagnostics when anything is invalid; `/validate` answers 200 with
 * `{ valid, diagnostics }` because an invalid document is the answer it was asked for, not a failure.
 *
 * @example
 * ```ts
 * api.route("/", applyRoutes(plane));
 * ```
 */
export function applyRoutes(plane: ControlPlane): Hono {
  return new Hono()
    .post("/apply", async (c) => {
      const { documents, diagnostics } = await readRequestDocuments(c);
      if (diagnostics.some((d) => d.severity === "error")) {
        throw new PlaneError("invalid", "the request body could not be parsed; nothing was applied", {
          diagnostics,
        });
      }
      if (documents.length === 0) {
        throw new AdminHttpError(
          "bad-request",
          400,
          "the request body holds no resources; nothing was applied",
        );
      }
      const dryRun = c.req.query("dryRun") === "true";
      return c.json(await plane.apply(documents, { dryRun }));
    })
    .post("/validate", async (c) => {
      const parsed = await readRequestDocuments(c);
      if (parsed.diagnostics.some((d) => d.severity === "error")) {
        return c.json({ valid: false, resources: [], diagnostics: parsed.diagnostics });
      }
      const report = plane.validate(parsed.documents);
      return c.json({ ...report, diagnostics: [...parsed.diagnostics, ...report.diagnostics] });
    });
}
