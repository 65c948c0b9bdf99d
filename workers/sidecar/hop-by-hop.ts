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
  const drop = droppedNames(headers.connection);
  const result: OutgoingHttpHeaders = {};
  for (const name in headers) {
    const value = headers[name];
    const lower = name.toLowerCase();
    if (value === undefined || drop.has(lower)) continue;
    result[lower] = value;
  }
  return result;
}

/**
 * Drop sets of the `Connection` values nearly every message carries (none, `keep-alive`, `close`),
 * computed once: building the set per message is a measurable cost at high request rates.
 */
const COMMON_DROPS = new Map<string | undefined, ReadonlySet<string>>(
  [undefined, "keep-alive", "close"].map((value) => [value, hopByHopNames(value, NODE_HOP_BY_HOP)]),
);

/** The names to drop from a message with this `Connection` header (shared sets: read only). */
function droppedNames(connection: OutgoingHttpHeaders[string]): ReadonlySet<string> {
  const common =
    connection === undefined || typeof connection === "string"
      ? COMMON_DROPS.get(connection?.toLowerCase())
      : undefined;
  if (common) return common;
  const values = [connection].flat().filter((v): v is string => typeof v === "string");
  return hopByHopNames(values, NODE_HOP_BY_HOP);
}

/** Removes hop-by-hop headers from what is sent upstream (responses are cleaned by the forwarder). */
export function stripHopByHopHeaders(): Layer {
  return (next) => (ctx) => {
    ctx.upstreamHeaders = withoutHopByHop(ctx.upstreamHeaders);
    // An Upgrade (WebSocket) is asked of the upstream again, hop by hop, as Envoy does.
    const upgrade = ctx.req.headers.upgrade;
    if (ctx.upgrade && upgrade) Object.assign(ctx.upstreamHeaders, { connection: "upgrade", upgrade });
    return next(ctx);
  };
}
