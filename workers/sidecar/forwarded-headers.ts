import type { Layer } from "./proxy-context.ts";

/**
 * Adds the standard `x-forwarded-*` headers: appends the client address to `x-forwarded-for` and
 * sets `x-forwarded-proto` / `x-forwarded-host` if no earlier proxy did.
 *
 * @example
 * ```ts
 * compose([addForwardedHeaders()], forward); // x-forwarded-for: 127.0.0.1
 * ```
 */
export function addForwardedHeaders(): Layer {
  return (next) => (ctx) => {
    const headers = ctx.upstreamHeaders;
    const client = ctx.req.socket.remoteAddress;
    if (client) {
      const previous = headers["x-forwarded-for"];
      const chain = Array.isArray(previous) ? previous.join(", ") : previous;
      headers["x-forwarded-for"] = chain ? `${chain}, ${client}` : client;
    }
    headers["x-forwarded-proto"] ??= ctx.scheme; // https at the ingress gateway over TLS
    if (ctx.authority) headers["x-forwarded-host"] ??= ctx.authority;
    return next(ctx);
  };
}
