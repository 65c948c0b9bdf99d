import { type ClientRequest, type IncomingMessage, request } from "node:http";
import { withoutHopByHop } from "./hop-by-hop.ts";
import { respondLocally } from "./local-response.ts";
import type { Handler, ProxyAbort, ProxyContext, UpstreamAddress } from "./proxy-context.ts";
import type { UpstreamPool } from "./upstream-pool.ts";

/** Forwarding settings. */
export interface ForwardOptions {
  /** Time allowed to open a new upstream connection before failing with `UF`. Default 10 s (Istio's). */
  connectTimeoutMs?: number;
}

/** How many times a request without a body is resent after a pooled connection turned out stale. */
const STALE_CONNECTION_RETRIES = 2;

/**
 * The end of every pipeline: sends the request to `ctx.endpoint` over a pooled keep-alive connection
 * and streams both bodies through (`pipe`, so a slow reader slows the writer). Failures before the
 * response started become local responses: connect failure → 503 `UF`, reset → 503 `UC`, route
 * timeout → 504 `UT`; after it started, the downstream response is reset instead.
 *
 * @example
 * ```ts
 * const handler = compose(layers, forwardUpstream(createUpstreamPool()));
 * ```
 */
export function forwardUpstream(pool: UpstreamPool, options: ForwardOptions = {}): Handler {
  const connectTimeoutMs = options.connectTimeoutMs ?? 10_000;
  return async (ctx) => {
    const endpoint = ctx.endpoint;
    if (!endpoint) throw new Error("forwardUpstream needs ctx.endpoint; put an endpoint layer before it");
    if (ctx.abort.signal.aborted) return;
    send(ctx, pool, endpoint, connectTimeoutMs, hasBody(ctx) ? 0 : STALE_CONNECTION_RETRIES);
  };
}

function send(
  ctx: ProxyContext,
  pool: UpstreamPool,
  endpoint: UpstreamAddress,
  connectTimeoutMs: number,
  retriesLeft: number,
): void {
  const lease = pool.lease(endpoint);
  const upstream = request({
    agent: lease.agent,
    host: endpoint.address,
    port: endpoint.port,
    method: ctx.req.method,
    path: ctx.path,
    headers: ctx.upstreamHeaders,
  });
  let connected = false;
  let settled = false;
  const onAbort = () => {
    const reason = ctx.abort.signal.reason as ProxyAbort;
    upstream.destroy();
    if (reason.flag === "UT") respondLocally(ctx, 504, "UT", reason.message);
    else ctx.flag ??= reason.flag;
  };
  ctx.abort.signal.addEventListener("abort", onAbort, { once: true });
  upstream.once("close", () => {
    ctx.abort.signal.removeEventListener("abort", onAbort);
    lease.release();
  });

  upstream.once("socket", (socket) => {
    if (!socket.connecting) {
      connected = true;
      return;
    }
    const timer = setTimeout(() => upstream.destroy(connectError(connectTimeoutMs)), connectTimeoutMs);
    socket.once("connect", () => {
      connected = true;
      clearTimeout(timer);
    });
    socket.once("close", () => clearTimeout(timer));
  });

  upstream.once("response", (response) => {
    settled = true;
    relayResponse(ctx, response);
  });

  upstream.on("error", (error: NodeJS.ErrnoException) => {
    if (settled || ctx.abort.signal.aborted) return;
    settled = true;
    if (!connected) {
      respondLocally(
        ctx,
        503,
        "UF",
        `upstream connect error to ${describe(endpoint)}: ${error.code ?? error.message}`,
      );
    } else if (retriesLeft > 0 && upstream.reusedSocket && isReset(error)) {
      // The server closed an idle pooled connection just as we reused it; the request never
      // reached the app, so sending it again on another connection is safe.
      send(ctx, pool, endpoint, connectTimeoutMs, retriesLeft - 1);
    } else {
      respondLocally(
        ctx,
        503,
        "UC",
        `upstream connection reset by ${describe(endpoint)}: ${error.code ?? error.message}`,
      );
    }
  });

  if (hasBody(ctx)) {
    ctx.req.pipe(upstream);
    upstream.once("close", () => discardUnsentBody(ctx, upstream));
  } else {
    upstream.end();
  }
}

/** Copies the upstream status, headers and streamed body to the downstream response. */
function relayResponse(ctx: ProxyContext, response: IncomingMessage): void {
  const { res } = ctx;
  if (res.destroyed) {
    response.destroy();
    return;
  }
  res.writeHead(response.statusCode ?? 502, response.statusMessage, {
    ...withoutHopByHop(response.headers),
    ...ctx.responseHeaders,
  });
  response.pipe(res);
  response.on("error", () => {});
  response.once("close", () => {
    if (response.complete) return;
    // The upstream went away mid-body: reset downstream so the client cannot take it for complete.
    if (!ctx.abort.signal.aborted) ctx.flag ??= "UC";
    res.destroy();
  });
}

/**
 * Once the upstream request is gone, reads and drops the rest of the request body: the downstream
 * keep-alive connection can only carry the next request after this one's body was consumed.
 */
function discardUnsentBody(ctx: ProxyContext, upstream: ClientRequest): void {
  ctx.req.unpipe(upstream);
  if (!ctx.req.readableEnded) ctx.req.resume();
}

function hasBody(ctx: ProxyContext): boolean {
  const { headers } = ctx.req;
  if (headers["transfer-encoding"] !== undefined) return true;
  const length = headers["content-length"];
  return length !== undefined && length !== "0";
}

function isReset(error: NodeJS.ErrnoException): boolean {
  return error.code === "ECONNRESET" || error.code === "EPIPE" || error.message === "socket hang up";
}

function connectError(ms: number): NodeJS.ErrnoException {
  const error: NodeJS.ErrnoException = new Error(`connect timeout after ${ms} ms`);
  error.code = "ETIMEDOUT";
  return error;
}

function describe(endpoint: UpstreamAddress): string {
  return `${endpoint.address}:${endpoint.port}`;
}
