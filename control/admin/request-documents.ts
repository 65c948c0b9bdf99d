import type { Context } from "hono";
import type { Diagnostic } from "../compile/snapshot.ts";
import { parseDocuments } from "../model/parse.ts";
import { AdminHttpError } from "./http-errors.ts";

/** Media types `POST /apply` and `POST /validate` accept; all are parsed by the model's YAML/JSON reader. */
const ACCEPTED_TYPES = new Set([
  "application/yaml",
  "application/x-yaml",
  "text/yaml",
  "application/json",
  "text/plain",
]);

/**
 * Reads the request body as resource documents (YAML multi-doc, a JSON object or array, or a `List`).
 * A missing content type is read as YAML (JSON is YAML too).
 *
 * @example
 * ```ts
 * const { documents, diagnostics } = await readRequestDocuments(c);
 * ```
 */
export async function readRequestDocuments(
  c: Context,
): Promise<{ documents: unknown[]; diagnostics: Diagnostic[] }> {
  const mediaType = (c.req.header("content-type") ?? "").split(";")[0]!.trim().toLowerCase();
  if (mediaType !== "" && !ACCEPTED_TYPES.has(mediaType)) {
    throw new AdminHttpError(
      "unsupported-media-type",
      415,
      `content type ${mediaType} is not accepted; send application/yaml or application/json`,
    );
  }
  const text = await c.req.text();
  if (text.trim() === "")
    throw new AdminHttpError("bad-request", 400, "the request body is empty; send resources");
  return parseDocuments(text, "request body");
}
