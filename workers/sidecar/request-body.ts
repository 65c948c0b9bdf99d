import { isGrpcRequest } from "./local-response.ts";
import type { ProxyContext } from "./proxy-context.ts";

/** The largest request body kept in memory for retries and mirrors (Envoy's default buffer limit). */
export const MAX_BUFFERED_BODY = 1024 * 1024;

/**
 * How long a gRPC request body may take to end before it is streamed instead of buffered: a unary
 * call ends at once, a client or bidirectional stream may wait for answers first, and waiting for
 * its end would deadlock it.
 */
export const GRPC_BUFFER_WAIT_MS = 50;

/** The part of node:http2's compatibility request that tells whether a body follows. */
interface Http2Request {
  stream: { endAfterHeaders: boolean };
}

/** True when the request carries a body (chunked, a non-zero Content-Length, or an HTTP/2 DATA stream). */
export function hasBody(ctx: ProxyContext): boolean {
  // HTTP/2 has no chunked encoding: a request without a body ends with its headers (END_STREAM).
  if (ctx.req.httpVersionMajor >= 2) return !(ctx.req as unknown as Http2Request).stream.endAfterHeaders;
  const { headers } = ctx.req;
  if (headers["transfer-encoding"] !== undefined) return true;
  const length = headers["content-length"];
  return length !== undefined && length !== "0";
}

/**
 * Reads the request body into `ctx.body` so it can be sent more than once (retries, mirrors).
 * Resolves true when the whole body is in memory (or there is none); false when it is larger than
 * `limit`: what was read is put back on the stream, which is then forwarded once, as Envoy stops
 * retrying and mirroring a request whose body overflows its buffer.
 *
 * @example
 * ```ts
 * if (await bufferRequestBody(ctx)) upstream.end(ctx.body); else ctx.req.pipe(upstream);
 * ```
 */
export function bufferRequestBody(ctx: ProxyContext, limit = MAX_BUFFERED_BODY): Promise<boolean> {
  if (ctx.body) return Promise.resolve(true);
  if (!hasBody(ctx)) return Promise.resolve(true);
  const declared = Number(ctx.req.headers["content-length"]);
  if (Number.isFinite(declared) && declared > limit) return Promise.resolve(false);
  const { req } = ctx;
  if (req.readableEnded) return Promise.resolve(false);
  return new Promise((resolve) => {
    const chunks: Buffer[] = [];
    let size = 0;
    let timer: NodeJS.Timeout | undefined;
    const cleanup = () => {
      clearTimeout(timer);
      req.off("data", onData);
      req.off("end", onEnd);
      req.off("close", onClose);
    };
    const streamInstead = () => {
      req.pause();
      cleanup();
      if (size > 0) req.unshift(Buffer.concat(chunks));
      ctx.replayedBodyBytes = (ctx.replayedBodyBytes ?? 0) + size;
      resolve(false);
    };
    const onData = (chunk: Buffer) => {
      chunks.push(chunk);
      size += chunk.length;
      if (size > limit) streamInstead();
    };
    if (isGrpcRequest(ctx)) timer = setTimeout(streamInstead, GRPC_BUFFER_WAIT_MS);
    const onEnd = () => {
      cleanup();
      // A small body usually arrives in one chunk: kept as it is rather than copied.
      ctx.body = chunks.length === 1 ? (chunks[0] as Buffer) : Buffer.concat(chunks, size);
      resolve(true);
    };
    const onClose = () => {
      cleanup();
      resolve(false);
    };
    req.on("data", onData);
    req.once("end", onEnd);
    req.once("close", onClose);
  });
}
