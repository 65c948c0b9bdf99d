import type { ProxyContext } from "./proxy-context.ts";

/** The largest request body kept in memory for retries and mirrors (Envoy's default buffer limit). */
export const MAX_BUFFERED_BODY = 1024 * 1024;

/** True when the request carries a body (chunked or a non-zero Content-Length). */
export function hasBody(ctx: ProxyContext): boolean {
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
    const cleanup = () => {
      req.off("data", onData);
      req.off("end", onEnd);
      req.off("close", onClose);
    };
    const onData = (chunk: Buffer) => {
      chunks.push(chunk);
      size += chunk.length;
      if (size <= limit) return;
      req.pause();
      cleanup();
      req.unshift(Buffer.concat(chunks));
      resolve(false);
    };
    const onEnd = () => {
      cleanup();
      ctx.body = Buffer.concat(chunks);
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
