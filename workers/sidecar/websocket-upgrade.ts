import type { IncomingMessage, OutgoingHttpHeaders } from "node:http";
import type { Duplex } from "node:stream";
import type { ProxyContext } from "./proxy-context.ts";

/**
 * Completes an HTTP/1.1 Upgrade (WebSocket) the upstream accepted: answers the client `101` with
 * the upstream's headers (its `Upgrade`/`Connection` restored, the proxy's own headers kept), then
 * pipes bytes both ways until either side closes; closing one closes the other.
 *
 * @example
 * ```ts
 * if (ctx.upgrade?.upstream && response.statusCode === 101) spliceUpgrade(ctx, response, headers, ctx.upgrade.upstream);
 * ```
 */
export function spliceUpgrade(
  ctx: ProxyContext,
  response: IncomingMessage,
  headers: OutgoingHttpHeaders,
  upstream: { socket: Duplex; head: Buffer },
): void {
  const downstream = ctx.upgrade?.socket;
  if (!downstream) {
    upstream.socket.destroy();
    return;
  }
  const { res } = ctx;
  res.writeHead(101, response.statusMessage, {
    ...headers,
    connection: "Upgrade",
    upgrade: response.headers.upgrade ?? ctx.req.headers.upgrade ?? "websocket",
  });
  res.flushHeaders();
  const head = ctx.upgrade?.head;
  if (head && head.length > 0) upstream.socket.write(head);
  if (upstream.head.length > 0) downstream.write(upstream.head);
  upstream.socket.on("error", () => downstream.destroy());
  downstream.on("error", () => upstream.socket.destroy());
  upstream.socket.once("close", () => downstream.destroy());
  downstream.once("close", () => upstream.socket.destroy());
  upstream.socket.pipe(downstream);
  downstream.pipe(upstream.socket);
}
