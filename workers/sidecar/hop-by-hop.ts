import type { IncomingHttpHeaders, OutgoingHttpHeaders } from "node:http";
import type { Layer } from "./proxy-context.ts";

/**
 * Headers that describe one connection, not the message (RFC 9110 §7.6.1), plus `expect`: Node has
 * already answered `100-continue` to the client, so it must not be repeated upstream.
 */
const HOP_BY_HOP = new Set([
  "connection",
  "keep-alive",
  "proxy-connection",
  "proxy-authenticate",
  "proxy-authorization",
  "te",
  "trailer",
  "transfer-encoding",
  "upgrade",
  "expect",
]);

/**
 * A copy of `headers` without hop-by-hop headers, including any named in `Connection`.
 *
 * @example
 * ```ts
 * withoutHopByHop({ connection: "close, x-trace", "x-trace": "1", accept: "text/html" }); // { accept: "text/html" }
 * ```
 */
export function withoutHopByHop(headers: IncomingHttpHeaders | OutgoingHttpHeaders): OutgoingHttpHeaders {
  const named = new Set<string>();
  const connection = headers.connection;
  const connectionValues = Array.isArray(connection) ? connection : [connection];
  for (const value of connectionValues) {
    if (typeof value !== "string") continue;
    for (const token of value.split(",")) named.add(token.trim().toLowerCase());
  }
  const result: OutgoingHttpHeaders = {};
  for (const [name, value] of Object.entries(headers)) {
    const lower = name.toLowerCase();
    if (value === undefined || HOP_BY_HOP.has(lower) || named.has(lower)) continue;
    result[lower] = value;
  }
  return result;
}

/** Removes hop-by-hop headers from what is sent upstream (responses are cleaned by the forwarder). */
export function stripHopByHopHeaders(): Layer {
  return (next) => async (ctx) => {
    ctx.upstreamHeaders = withoutHopByHop(ctx.upstreamHeaders);
    return next(ctx);
  };
}
