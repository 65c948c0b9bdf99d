import { JibeError } from "../../broker/errors.ts";
import type { Diagnostic } from "../compile/snapshot.ts";
import type { ApplyResult } from "./types.ts";

/**
 * Why a control-plane operation failed.
 * - `invalid`: the input is wrong (see `diagnostics`); nothing was written.
 * - `not-found`: the resource does not exist.
 * - `unavailable`: the config store could not be reached; nothing was written.
 * - `partially-applied`: the store failed after some writes; `results` lists exactly what was written.
 * - `untrusted`: a stored value failed signature verification (someone wrote to the store directly).
 */
export type PlaneErrorCode = "invalid" | "not-found" | "unavailable" | "partially-applied" | "untrusted";

/**
 * The one error type of `control/plane`. User errors carry field-level `diagnostics`.
 *
 * @example
 * ```ts
 * try { await plane.apply(docs); }
 * catch (e) { if (e instanceof PlaneError && e.code === "invalid") console.log(e.diagnostics); }
 * ```
 */
export class PlaneError extends JibeError<PlaneErrorCode> {
  readonly diagnostics: readonly Diagnostic[];
  /** For `partially-applied`: what was written before the failure. */
  readonly results: readonly ApplyResult[];

  constructor(
    code: PlaneErrorCode,
    message: string,
    opts: { cause?: unknown; diagnostics?: readonly Diagnostic[]; results?: readonly ApplyResult[] } = {},
  ) {
    super(code, message, { cause: opts.cause, user: code === "invalid" || code === "not-found" });
    this.name = "PlaneError";
    this.diagnostics = opts.diagnostics ?? [];
    this.results = opts.results ?? [];
  }
}
