import type { MiddlewareHandler } from "hono";
import { AdminHttpError } from "./http-errors.ts";

/**
 * Requires `Authorization: Bearer <token>`. Tokens are compared as SHA-256 digests in constant time,
 * so neither the content nor the length of the expected token leaks through response timing.
 * Web Crypto only: the app stays runtime-neutral.
 *
 * @example
 * ```ts
 * app.use("/api/v1/*", requireBearerToken(token));
 * ```
 */
export function requireBearerToken(token: string): MiddlewareHandler {
  const expected = digest(token);
  return async (c, next) => {
    const header = c.req.header("authorization") ?? "";
    const presented = /^Bearer[ \t]+(\S+)[ \t]*$/i.exec(header)?.[1];
    if (!presented) {
      throw new AdminHttpError(
        "unauthorized",
        401,
        "missing credentials: send `Authorization: Bearer <token>` (the token is in $JIBE_HOME/admin-token)",
      );
    }
    if (!constantTimeEqual(await digest(presented), await expected)) {
      throw new AdminHttpError("unauthorized", 401, "invalid token (the token is in $JIBE_HOME/admin-token)");
    }
    await next();
  };
}

async function digest(value: string): Promise<Uint8Array> {
  return new Uint8Array(await crypto.subtle.digest("SHA-256", new TextEncoder().encode(value)));
}

function constantTimeEqual(a: Uint8Array, b: Uint8Array): boolean {
  let diff = a.length ^ b.length;
  for (let i = 0; i < a.length; i++) diff |= (a[i] ?? 0) ^ (b[i] ?? 0);
  return diff === 0;
}
