import type { Layer } from "./proxy-context.ts";

/**
 * Gives every request an `x-request-id` (kept if the client sent one), so one request can be
 * followed across hops, like Envoy does.
 *
 * @example
 * ```ts
 * compose([assignRequestId(() => crypto.randomUUID())], forward);
 * ```
 */
export function assignRequestId(randomUUID: () => string): Layer {
  return (next) => (ctx) => {
    const current = ctx.upstreamHeaders["x-request-id"];
    if (typeof current !== "string" || current.length === 0)
      ctx.upstreamHeaders["x-request-id"] = randomUUID();
    return next(ctx);
  };
}
