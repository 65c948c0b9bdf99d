import type { ProxyContext } from "./proxy-context.ts";
import { RESPONSE_FLAGS_HEADER, type ResponseFlag } from "./response-flags.ts";

/**
 * Answers a request from the proxy itself (errors, direct responses). If the upstream response has
 * already started, the status can no longer change: the downstream connection is reset instead, so
 * the client sees a truncated response rather than a wrong one.
 *
 * @example
 * ```ts
 * respondLocally(ctx, 503, "UH", `no healthy endpoint in ${cluster.name}`);
 * ```
 */
export function respondLocally(
  ctx: ProxyContext,
  status: number,
  flag: ResponseFlag | undefined,
  body: string,
): void {
  if (flag) ctx.flag = flag;
  const { res } = ctx;
  if (res.headersSent || res.destroyed) {
    res.destroy();
    return;
  }
  const headers: Record<string, string | number> = { ...ctx.responseHeaders };
  if (flag) headers[RESPONSE_FLAGS_HEADER] = flag;
  // 1xx, 204 and 304 responses cannot carry a body (or a Content-Length, for 1xx and 204).
  if (status < 200 || status === 204 || status === 304) {
    res.writeHead(status, headers).end();
    return;
  }
  const text = body.length > 0 && !body.endsWith("\n") ? `${body}\n` : body;
  headers["content-type"] = "text/plain; charset=utf-8";
  headers["content-length"] = Buffer.byteLength(text);
  res.writeHead(status, headers);
  res.end(ctx.req.method === "HEAD" ? undefined : text);
}
