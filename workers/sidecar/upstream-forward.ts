import { type ClientRequest, type IncomingMessage, request } from "node:http";
import type { Duplex } from "node:stream";
import { TLSSocket } from "node:tls";
import { applyHeaderPolicies, RESPONSE_FLAGS_HEADER, recordHeaderEditor } from "../engine/index.ts";
import { withoutHopByHop } from "./hop-by-hop.ts";
import { respondLocally } from "./local-response.ts";
import {
  type Handler,
  type ProxyAbort,
  type ProxyContext,
  responseFlagsOf,
  type UpstreamAddress,
} from "./proxy-context.ts";
import { hasBody } from "./request-body.ts";
import { sendHttp2Attempt } from "./upstream-h2.ts";
import type { UpstreamPool } from "./upstream-pool.ts";
import { spliceUpgrade } from "./websocket-upgrade.ts";

/** Forwarding settings. */
export interface ForwardOptions {
  /** Time allowed to open a new upstream connection before failing with `UF`. Default 10 s (Istio's). */
  connectTimeoutMs?: number;
}

/** How one attempt ended; a `response` has not been relayed yet. */
export type AttemptResult =
  | { kind: "response"; response: IncomingMessage }
  | { kind: "connect-failure" | "reset" | "per-try-timeout"; message: string }
  /** The request was aborted (route timeout, client gone); {@link watchAbort} answers for it. */
  | { kind: "aborted" };

/** Settings of one attempt. */
export interface AttemptOptions {
  connectTimeoutMs: number;
  /** Gives up on the attempt when no response headers arrived in time (Istio `perTryTimeout`). */
  perTryTimeoutMs?: number;
}

/** How many times a request is resent after a pooled connection turned out stale. */
const STALE_CONNECTION_RETRIES = 2;

/** Default time to open an upstream connection (Istio's connectTimeout). */
export const DEFAULT_CONNECT_TIMEOUT_MS = 10_000;

/**
 * The end of the inbound pipeline: one attempt to `ctx.endpoint` over a pooled keep-alive
 * connection, both bodies streamed through (`pipe`, so a slow reader slows the writer). Failures
 * before the response started become local responses: connect failure → 503 `UF`, reset → 503
 * `UC`, route timeout → 504 `UT`; after it started, the downstream response is reset instead.
 *
 * @example
 * ```ts
 * const handler = compose(layers, forwardUpstream(createUpstreamPool()));
 * ```
 */
export function forwardUpstream(pool: UpstreamPool, options: ForwardOptions = {}): Handler {
  const connectTimeoutMs = options.connectTimeoutMs ?? DEFAULT_CONNECT_TIMEOUT_MS;
  return async (ctx) => {
    const endpoint = ctx.endpoint;
    if (!endpoint) throw new Error("forwardUpstream needs ctx.endpoint; put an endpoint layer before it");
    if (ctx.abort.signal.aborted) return;
    watchAbort(ctx);
    deliverAttempt(ctx, await sendAttempt(ctx, pool, endpoint, { connectTimeoutMs }));
  };
}

/**
 * Answers for an aborted request from then on: 504 `UT` for a route timeout (a reset if the
 * response had started), the abort's flag otherwise.
 */
export function watchAbort(ctx: ProxyContext): void {
  const onAbort = () => {
    const reason = ctx.abort.signal.reason as ProxyAbort;
    if (reason.flag === "UT") respondLocally(ctx, 504, "UT", reason.message);
    else ctx.flag ??= reason.flag;
  };
  ctx.abort.signal.addEventListener("abort", onAbort, { once: true });
  ctx.res.once("close", () => ctx.abort.signal.removeEventListener("abort", onAbort));
}

/** Relays a response, or answers a failed attempt locally (503 `UF` / `UC`, 504 `UT`). */
export function deliverAttempt(ctx: ProxyContext, result: AttemptResult): void {
  switch (result.kind) {
    case "response":
      relayResponse(ctx, result.response);
      return;
    case "connect-failure":
      respondLocally(ctx, 503, "UF", result.message);
      return;
    case "reset":
      respondLocally(ctx, 503, "UC", result.message);
      return;
    case "per-try-timeout":
      respondLocally(ctx, 504, "UT", result.message);
      return;
    case "aborted":
      return;
    default: {
      const unknown: never = result;
      throw new Error(`unhandled attempt result ${JSON.stringify(unknown)}`);
    }
  }
}

/**
 * Sends the request once to `endpoint` and resolves when response headers arrive or the attempt
 * failed. The body is `ctx.body` when it was buffered (so the attempt can be repeated), else the
 * request stream itself. A request without a body is resent (twice at most) when a reused pooled
 * connection turns out closed by the server: it never reached the app.
 */
export function sendAttempt(
  ctx: ProxyContext,
  pool: UpstreamPool,
  endpoint: UpstreamAddress,
  options: AttemptOptions,
): Promise<AttemptResult> {
  if (ctx.http2Upstream) return sendHttp2Attempt(ctx, ctx.http2Upstream, endpoint, options);
  // A request with a body may have reached the app before the reset: never resent here.
  const staleRetries = hasBody(ctx) ? 0 : STALE_CONNECTION_RETRIES;
  return new Promise((resolve) => attempt(ctx, pool, endpoint, options, resolve, staleRetries));
}

function attempt(
  ctx: ProxyContext,
  pool: UpstreamPool,
  endpoint: UpstreamAddress,
  options: AttemptOptions,
  resolve: (result: AttemptResult) => void,
  retriesLeft: number,
): void {
  const limits = ctx.direction === "outbound" && ctx.cluster ? (ctx.cluster.connectionPool ?? {}) : undefined;
  const lease = pool.lease(endpoint, limits);
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
  let perTryTimer: NodeJS.Timeout | undefined;
  const finish = (result: AttemptResult) => {
    if (settled) return;
    settled = true;
    clearTimeout(perTryTimer);
    resolve(result);
  };
  const onAbort = () => {
    upstream.destroy();
    finish({ kind: "aborted" });
  };
  ctx.abort.signal.addEventListener("abort", onAbort, { once: true });
  upstream.once("close", () => {
    ctx.abort.signal.removeEventListener("abort", onAbort);
    lease.release();
  });
  const perTry = options.perTryTimeoutMs;
  if (perTry !== undefined && perTry > 0) {
    perTryTimer = setTimeout(() => {
      finish({ kind: "per-try-timeout", message: `upstream per-try timeout after ${perTry} ms` });
      upstream.destroy();
    }, perTry);
  }

  upstream.once("socket", (socket) => {
    // A TLS connection counts as connected once its handshake succeeded: a refused server
    // certificate is a connect failure (UF), as in Envoy.
    const tls = socket instanceof TLSSocket;
    if (upstream.reusedSocket || (!tls && !socket.connecting)) {
      connected = true;
      return;
    }
    const timer = setTimeout(
      () => upstream.destroy(connectError(options.connectTimeoutMs)),
      options.connectTimeoutMs,
    );
    socket.once(tls ? "secureConnect" : "connect", () => {
      connected = true;
      clearTimeout(timer);
    });
    socket.once("close", () => clearTimeout(timer));
  });

  upstream.once("response", (response) => finish({ kind: "response", response }));
  // WebSocket: the upstream agreed to switch protocols; the relay splices both connections.
  upstream.once("upgrade", (response: IncomingMessage, socket: Duplex, head: Buffer) => {
    if (ctx.upgrade) ctx.upgrade.upstream = { socket, head };
    else socket.destroy();
    finish({ kind: "response", response });
  });

  upstream.on("error", (error: NodeJS.ErrnoException) => {
    if (settled || ctx.abort.signal.aborted) return;
    const reason = error.code ?? error.message;
    if (!connected) {
      finish({
        kind: "connect-failure",
        message: `upstream connect error to ${describe(endpoint)}: ${reason}`,
      });
    } else if (retriesLeft > 0 && upstream.reusedSocket && isReset(error)) {
      // The server closed an idle pooled connection just as we reused it; the request never
      // reached the app, so sending it again on another connection is safe.
      settled = true;
      clearTimeout(perTryTimer);
      attempt(ctx, pool, endpoint, options, resolve, retriesLeft - 1);
    } else {
      finish({ kind: "reset", message: `upstream connection reset by ${describe(endpoint)}: ${reason}` });
    }
  });

  if (ctx.body) upstream.end(ctx.body);
  else if (hasBody(ctx)) {
    ctx.req.pipe(upstream);
    upstream.once("close", () => discardUnsentBody(ctx, upstream));
  } else upstream.end();
}

/**
 * Copies the upstream status, headers and streamed body to the downstream response, with the
 * proxy's response headers, flags (`DI`, `URX`) and the route's response header policies.
 */
export function relayResponse(ctx: ProxyContext, response: IncomingMessage): void {
  const { res } = ctx;
  for (const hook of ctx.upstreamResponseHooks) hook(response);
  if (res.destroyed) {
    response.destroy();
    return;
  }
  // withoutHopByHop returns a fresh object: the proxy's own headers go straight into it.
  const headers = Object.assign(withoutHopByHop(response.headers), ctx.responseHeaders);
  const flags = responseFlagsOf(ctx);
  if (flags) headers[RESPONSE_FLAGS_HEADER] = flags;
  if (ctx.responseHeaderPolicies)
    applyHeaderPolicies(recordHeaderEditor(headers), ctx.responseHeaderPolicies, "response");
  if (ctx.upgrade?.upstream && response.statusCode === 101) {
    spliceUpgrade(ctx, response, headers, ctx.upgrade.upstream);
    return;
  }
  // HTTP/2 has no reason phrase.
  if (ctx.req.httpVersionMajor >= 2) res.writeHead(response.statusCode ?? 502, headers);
  else res.writeHead(response.statusCode ?? 502, response.statusMessage, headers);
  // Trailers (gRPC's grpc-status) follow the body: the response ends once they are copied.
  response.pipe(res, { end: false });
  response.once("end", () => {
    const trailers = response.trailers ?? {};
    if (Object.keys(trailers).length > 0) res.addTrailers(trailers);
    res.end();
  });
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
