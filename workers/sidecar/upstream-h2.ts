import type { IncomingMessage, OutgoingHttpHeaders } from "node:http";
import {
  type ClientHttp2Session,
  type ClientHttp2Stream,
  connect as connectHttp2,
  type IncomingHttpHeaders as Http2Headers,
} from "node:http2";
import { connect as connectTcp, type Socket } from "node:net";
import { isGrpcRequest } from "./local-response.ts";
import type { ProxyContext, UpstreamAddress } from "./proxy-context.ts";
import { hasBody } from "./request-body.ts";
import type { AttemptOptions, AttemptResult } from "./upstream-forward.ts";
import type { UpstreamDial } from "./upstream-tls.ts";

/** One multiplexed HTTP/2 connection per upstream endpoint (h2c, or h2 inside mTLS). */
export interface Http2SessionPool {
  /** The live session to `endpoint`, opened when there is none (a closed or GOAWAY'd one is replaced). */
  session(endpoint: UpstreamAddress): ClientHttp2Session;
  /**
   * The TCP or TLS connection under a session this pool opened (what the server presented at the
   * handshake is read from it: telemetry principals, `jibe mtls check`).
   */
  connection(session: ClientHttp2Session): Socket | undefined;
  /** Closes every session. */
  destroy(): void;
}

/**
 * Creates the HTTP/2 session pool. Endpoints with a `transport` (mTLS to sidecars, DestinationRule
 * TLS) are dialed with `dialerFor`, others over plain TCP with prior knowledge (h2c).
 *
 * @example
 * ```ts
 * const h2 = createHttp2SessionPool({ dialerFor: createUpstreamTlsDialer({ meshTls }) });
 * const stream = h2.session({ address: "127.0.0.1", port: 15006 }).request({ ":path": "/" });
 * ```
 */
export function createHttp2SessionPool(
  options: { dialerFor?: (endpoint: UpstreamAddress) => UpstreamDial } = {},
): Http2SessionPool {
  const sessions = new Map<string, ClientHttp2Session>();
  const connections = new WeakMap<ClientHttp2Session, Socket>();
  return {
    session(endpoint) {
      const key = `${endpoint.transport ?? "plain"}|${endpoint.origination?.key ?? ""}|${endpoint.address}:${endpoint.port}`;
      const open = sessions.get(key);
      if (open && !open.closed && !open.destroyed) return open;
      const dial = endpoint.transport ? options.dialerFor?.(endpoint) : undefined;
      if (endpoint.transport && !dial) throw new Error(`no dialer for ${endpoint.transport} to ${key}`);
      // Dialed here (as node:http2 would) so the session's own socket stays reachable.
      const socket = dial
        ? dialOrFail(dial, endpoint)
        : connectTcp({ host: endpoint.address, port: endpoint.port });
      const session = connectHttp2(`http://${endpoint.address}:${endpoint.port}`, {
        createConnection: () => socket,
      });
      connections.set(session, socket);
      // Failures surface on the streams; an idle session must not crash the process.
      session.on("error", () => {});
      session.once("close", () => {
        if (sessions.get(key) === session) sessions.delete(key);
      });
      session.once("goaway", () => {
        if (sessions.get(key) === session) sessions.delete(key);
      });
      session.unref();
      sessions.set(key, session);
      return session;
    },
    connection: (session) => connections.get(session),
    destroy() {
      for (const session of sessions.values()) session.destroy();
      sessions.clear();
    },
  };
}

function dialOrFail(dial: UpstreamDial, endpoint: UpstreamAddress): Socket {
  let failure: Error | null = null;
  const socket = dial({ host: endpoint.address, port: endpoint.port }, (error) => {
    failure = error;
  });
  if (socket) return socket;
  throw failure ?? new Error(`cannot dial ${endpoint.address}:${endpoint.port}`);
}

/**
 * One attempt of `ctx`'s request over HTTP/2 to `endpoint`: resolves when response headers arrive
 * (the stream, shaped as node:http's response so the relay and hooks treat both alike) or the
 * attempt failed: no session → `connect-failure`, a reset stream → `reset` (a refused stream,
 * REFUSED_STREAM, never reached the app).
 */
export function sendHttp2Attempt(
  ctx: ProxyContext,
  pool: Http2SessionPool,
  endpoint: UpstreamAddress,
  options: AttemptOptions,
): Promise<AttemptResult> {
  return new Promise((resolve) => {
    const describe = `${endpoint.address}:${endpoint.port}`;
    let session: ClientHttp2Session;
    try {
      session = pool.session(endpoint);
    } catch (error) {
      resolve({
        kind: "connect-failure",
        message: `upstream connect error to ${describe}: ${String(error)}`,
      });
      return;
    }
    let settled = false;
    let perTryTimer: NodeJS.Timeout | undefined;
    let connectTimer: NodeJS.Timeout | undefined;
    const finish = (result: AttemptResult) => {
      if (settled) return;
      settled = true;
      clearTimeout(perTryTimer);
      clearTimeout(connectTimer);
      resolve(result);
    };
    let connected = !session.connecting;
    if (!connected) {
      connectTimer = setTimeout(() => {
        finish({ kind: "connect-failure", message: `upstream connect timeout to ${describe}` });
        session.destroy();
      }, options.connectTimeoutMs);
      session.once("connect", () => {
        connected = true;
        clearTimeout(connectTimer);
      });
    }
    const stream = session.request(http2RequestHeaders(ctx), { endStream: !ctx.body && !hasBody(ctx) });
    const onAbort = () => {
      stream.close();
      finish({ kind: "aborted" });
    };
    ctx.abort.signal.addEventListener("abort", onAbort, { once: true });
    stream.once("close", () => ctx.abort.signal.removeEventListener("abort", onAbort));
    const perTry = options.perTryTimeoutMs;
    if (perTry !== undefined && perTry > 0) {
      perTryTimer = setTimeout(() => {
        finish({ kind: "per-try-timeout", message: `upstream per-try timeout after ${perTry} ms` });
        stream.close();
      }, perTry);
    }
    stream.once("response", (headers) => {
      clearTimeout(connectTimer);
      finish({ kind: "response", response: asIncomingMessage(stream, headers, pool.connection(session)) });
    });
    stream.on("error", (error: NodeJS.ErrnoException) => {
      if (settled || ctx.abort.signal.aborted) return;
      const reason = error.code ?? error.message;
      finish(
        connected
          ? { kind: "reset", message: `upstream stream reset by ${describe}: ${reason}` }
          : { kind: "connect-failure", message: `upstream connect error to ${describe}: ${reason}` },
      );
    });
    if (ctx.body) stream.end(ctx.body);
    else if (hasBody(ctx)) ctx.req.pipe(stream);
  });
}

/**
 * HTTP/2 request headers: pseudo-headers from the context (`:authority` the upstream Host unless
 * `authority` is given), hop-by-hop and `host` left out.
 *
 * @example
 * ```ts
 * session.request(http2RequestHeaders(ctx, "reviews-shadow:9080"));
 * ```
 */
export function http2RequestHeaders(ctx: ProxyContext, authority?: string): OutgoingHttpHeaders {
  const headers: OutgoingHttpHeaders = {
    ":method": ctx.req.method ?? "GET",
    ":path": ctx.path,
    ":scheme": "http",
    ":authority": authority ?? String(ctx.upstreamHeaders.host ?? ctx.authority),
  };
  for (const [name, value] of Object.entries(ctx.upstreamHeaders)) {
    if (name === "host" || value === undefined) continue;
    headers[name] = value;
  }
  // `te: trailers` is the one TE HTTP/2 allows; gRPC servers expect it (hop-by-hop removal took it).
  if (String(ctx.req.headers.te ?? "").includes("trailers") || isGrpcRequest(ctx)) headers.te = "trailers";
  return headers;
}

/**
 * The stream as the parts of node:http's `IncomingMessage` the relay and hooks read: `statusCode`,
 * `headers` (no pseudo-headers), `trailers` (filled when they arrive), `complete` (set at the end),
 * `socket` (the session's connection, where the server's certificate is).
 */
function asIncomingMessage(
  stream: ClientHttp2Stream,
  headers: Http2Headers,
  socket: Socket | undefined,
): IncomingMessage {
  const plain: Record<string, string | string[] | undefined> = {};
  for (const [name, value] of Object.entries(headers)) if (!name.startsWith(":")) plain[name] = value;
  const trailers: Record<string, string | undefined> = {};
  const shaped = Object.assign(stream, {
    statusCode: Number(headers[":status"] ?? 502),
    statusMessage: "",
    headers: plain,
    trailers,
    complete: false,
    httpVersionMajor: 2,
    socket: socket ?? null,
  });
  stream.on("trailers", (received: Http2Headers) => {
    for (const [name, value] of Object.entries(received))
      if (!name.startsWith(":")) trailers[name] = Array.isArray(value) ? value.join(", ") : value;
  });
  stream.once("end", () => {
    shaped.complete = true;
  });
  return shaped as unknown as IncomingMessage;
}
