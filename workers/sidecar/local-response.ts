import {
  applyHeaderPolicies,
  encodeGrpcMessage,
  grpcStatusOfLocalReply,
  RESPONSE_FLAGS_HEADER,
  type ResponseFlag,
  recordHeaderEditor,
} from "../engine/index.ts";
import { type ProxyContext, responseFlagsOf } from "./proxy-context.ts";

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
  /** Headers of this answer (e.g. `location`, `grpc-status`); they win over the defaults. */
  extraHeaders: Record<string, string> = {},
): void {
  if (flag) ctx.flag = flag;
  const { res } = ctx;
  if (res.headersSent || res.destroyed) {
    res.destroy();
    return;
  }
  const headers: Record<string, string | number | string[]> = { ...ctx.responseHeaders };
  const flags = responseFlagsOf(ctx);
  if (flags) headers[RESPONSE_FLAGS_HEADER] = flags;
  applyHeaderPolicies(recordHeaderEditor(headers), ctx.responseHeaderPolicies ?? [], "response");
  if (status >= 200 && isGrpcRequest(ctx)) {
    // gRPC clients read the outcome from grpc-status: a trailers-only answer (HTTP 200, no body).
    const grpc = {
      "content-type": "application/grpc",
      "grpc-status": String(grpcStatusOfLocalReply(status, flag)),
      "grpc-message": encodeGrpcMessage(body.trim()),
      ...extraHeaders,
    };
    res.writeHead(200, { ...headers, ...grpc }).end();
    return;
  }
  // 1xx, 204 and 304 responses cannot carry a body (or a Content-Length, for 1xx and 204).
  if (status < 200 || status === 204 || status === 304) {
    res.writeHead(status, { ...headers, ...extraHeaders }).end();
    return;
  }
  const text = body.length > 0 && !body.endsWith("\n") ? `${body}\n` : body;
  headers["content-type"] = "text/plain; charset=utf-8";
  Object.assign(headers, extraHeaders);
  headers["content-length"] = Buffer.byteLength(text);
  res.writeHead(status, headers);
  res.end(ctx.req.method === "HEAD" ? undefined : text);
}

/** Whether the request is gRPC (`content-type: application/grpc…`). */
export function isGrpcRequest(ctx: Pick<ProxyContext, "req">): boolean {
  return String(ctx.req.headers["content-type"] ?? "").startsWith("application/grpc");
}
