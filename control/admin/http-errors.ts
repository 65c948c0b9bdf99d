import type { Context } from "hono";
import { HTTPException } from "hono/http-exception";
import type { ContentfulStatusCode } from "hono/utils/http-status";
import { JibeError } from "../../broker/errors.ts";
import type { Logger } from "../../broker/logger.ts";
import type { Diagnostic } from "../compile/snapshot.ts";
import { PlaneError, type PlaneErrorCode } from "../plane/errors.ts";
import type { ApplyResult } from "../plane/types.ts";

/** Every `error.code` the admin API answers with. */
export type AdminErrorCode =
  | PlaneErrorCode
  | "unauthorized"
  | "unknown-kind"
  | "bad-request"
  | "unsupported-media-type"
  | "payload-too-large"
  | "conflict"
  | "internal";

/** The JSON body of every error answer. */
export interface ErrorBody {
  error: {
    code: AdminErrorCode;
    message: string;
    diagnostics?: readonly Diagnostic[];
    /** For `partially-applied`: what was written before the failure. */
    results?: readonly ApplyResult[];
  };
}

/**
 * An error the admin API answers with as is (status + code + message).
 *
 * @example
 * ```ts
 * throw new AdminHttpError("unknown-kind", 400, 'unknown kind "vsx"; use one of VirtualService, ...');
 * ```
 */
export class AdminHttpError extends JibeError<AdminErrorCode> {
  readonly status: ContentfulStatusCode;

  constructor(code: AdminErrorCode, status: ContentfulStatusCode, message: string) {
    super(code, message, { user: true });
    this.name = "AdminHttpError";
    this.status = status;
  }
}

function planeStatus(code: PlaneErrorCode): ContentfulStatusCode {
  switch (code) {
    case "invalid":
      return 400;
    case "not-found":
      return 404;
    case "unavailable":
    case "partially-applied":
      return 503;
    case "untrusted":
      return 500;
    default: {
      const unknownCode: never = code;
      return unknownCode;
    }
  }
}

/** Turns any thrown value into a JSON error answer. Internal errors are logged, never shown. */
export function errorResponse(c: Context, error: unknown, log?: Logger): Response {
  if (error instanceof AdminHttpError) {
    if (error.code === "unauthorized") c.header("WWW-Authenticate", 'Bearer realm="jibe"');
    // The rest of an oversized body is never read: the connection cannot carry another request.
    if (error.code === "payload-too-large") c.header("Connection", "close");
    return c.json(body(error.code, error.message), error.status);
  }
  if (error instanceof PlaneError) {
    if (!error.user) log?.warn(`admin API ${c.req.method} ${c.req.path}: ${error.message}`);
    const extra = {
      ...(error.diagnostics.length > 0 ? { diagnostics: error.diagnostics } : {}),
      ...(error.results.length > 0 ? { results: error.results } : {}),
    };
    return c.json(body(error.code, error.message, extra), planeStatus(error.code));
  }
  if (error instanceof HTTPException && error.status < 500) {
    return c.json(body("bad-request", error.message || "bad request"), error.status as ContentfulStatusCode);
  }
  log?.error(`admin API ${c.req.method} ${c.req.path} failed:`, error);
  return c.json(body("internal", "internal error; the control-plane log has the details"), 500);
}

/** The body of an error answer. */
export function body(
  code: AdminErrorCode,
  message: string,
  extra: Partial<ErrorBody["error"]> = {},
): ErrorBody {
  return { error: { code, message, ...extra } };
}
