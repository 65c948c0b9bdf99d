import { JibeError } from "../../broker/errors.ts";
import type { Diagnostic } from "../compile/snapshot.ts";

/** Codes of errors the CLI itself raises. */
export type CliErrorCode = "usage" | "input" | "not-implemented" | "failed";

/**
 * A user error of the CLI: printed as one line (plus `details`, e.g. diagnostics), never with a stack;
 * exit code 1.
 *
 * @example
 * ```ts
 * throw new CliError("usage", "apply needs -f FILE (use -f - for stdin)");
 * ```
 */
export class CliError extends JibeError<CliErrorCode> {
  readonly diagnostics: readonly { file?: string; diagnostic: Diagnostic }[];

  constructor(
    code: CliErrorCode,
    message: string,
    opts: { cause?: unknown; diagnostics?: readonly { file?: string; diagnostic: Diagnostic }[] } = {},
  ) {
    super(code, message, { cause: opts.cause, user: true });
    this.name = "CliError";
    this.diagnostics = opts.diagnostics ?? [];
  }
}
