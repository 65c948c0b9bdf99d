import type { IncomingHttpHeaders, OutgoingHttpHeaders } from "node:http";
import { hopByHopNames } from "../engine/hop-by-hop.ts";
import type { Layer } from "./proxy-context.ts";

/** Node has already answered `100-continue` to the client, so `expect` must not be repeated upstream. */
const NODE_HOP_BY_HOP = ["expect"];

/**
 * A copy of `headers` without hop-by-hop headers, including any named in `Connection`.
 *
 * @example
 * ```ts
 * withoutHopByHop({ connection: "close, x-trace", "x-trace": "1", accept: "text/html" }); // { accept: "text/html" }
 * ```
 */
export function withoutHopByHop(headers: IncomingHttpHeaders | OutgoingHttpHeaders): OutgoingHttpHeaders {
  const connection = [headers.connection].flat().filter((v): v is string => typeof v === "string");
  const drop = hopByHopNames(connection, NODE_HOP_BY_HOP);
  const result: OutgoingHttpHeaders = {};
  for (const [name, value] of Object.entries(headers)) {
    const lower = name.toLowerCase();
    if (value === undefined || drop.has(lower)) continue;
    result[lower] = value;
  }
  return result;
}

/** Removes hop-by-hop headers from what is sent upstream (responses are cleaned by the forwarder). */
export function stripHopByHopHeaders(): Layer {
  return (next) => async (ctx) => {
    ctx.upstreamHeaders = withoutHopByHop(ctx.upstreamHeaders);
    // An Upgrade (WebSocket) is asked of the upstream again, hop by hop, as Envoy does.
    const upgrade = ctx.req.headers.upgrade;
    if (ctx.upgrade && upgrade) Object.assign(ctx.upstreamHeaders, { connection: "upgrade", upgrade });
    return next(ctx);
  };
}
