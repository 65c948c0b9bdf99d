import type { Socket } from "node:net";
import { TLSSocket } from "node:tls";
import { peerSpiffeId } from "../../identity/tls-options.ts";
import { NO_FLAG } from "../engine/index.ts";
import { createGrpcMessageCounter } from "../telemetry/grpc-frames.ts";
import {
  continueTrace,
  decodePeerHeader,
  PEER_HEADER,
  type Reporter,
  type RequestRecord,
  readTraceHeaders,
  TRACE_HEADERS,
  traceHeaders,
  type WorkloadMetadata,
} from "../telemetry/index.ts";
import { joinedHeaders } from "./joined-headers.ts";
import { isGrpcRequest } from "./local-response.ts";
import { type Layer, type ProxyContext, responseFlagsOf } from "./proxy-context.ts";
import { hasBody } from "./request-body.ts";
import type { SidecarTelemetry } from "./sidecar-telemetry.ts";

/**
 * Telemetry of every request, on both listeners: exchanges peer metadata with the other proxy
 * ({@link PEER_HEADER} on the request outbound, on the response inbound; removed before the app
 * sees it), continues or starts the trace (new span per hop, W3C and B3 headers upstream), counts
 * body bytes, and when the response is done hands one {@link RequestRecord} to metrics, span
 * export and access log.
 *
 * @example
 * ```ts
 * compose([recordStats(stats), recordTelemetry(telemetry), ...], forwardUpstream(pool));
 * ```
 */
export function recordTelemetry(telemetry: SidecarTelemetry): Layer {
  const peerOf = createPeerDecoder();
  return (next) => (ctx) => {
    const reporter: Reporter = ctx.direction === "outbound" ? "source" : "destination";
    const startMs = Date.now();
    const started = performance.now();
    const requestHeaders = joinedHeaders(ctx.req.headers);
    const { remote, local } = addressesOf(ctx.req.socket);
    const policy = telemetry.policy();

    // Headers are overwritten in place and deleted only when present and not replaced: a delete
    // turns the header object into a slower dictionary-mode object for the rest of the request.
    let peer: WorkloadMetadata | undefined;
    if (reporter === "destination") {
      if (PEER_HEADER in ctx.upstreamHeaders) delete ctx.upstreamHeaders[PEER_HEADER];
      peer = peerOf(requestHeaders[PEER_HEADER]);
      // Answered to mesh peers only: a client outside the mesh does not learn workload names.
      if (peer) ctx.responseHeaders[PEER_HEADER] = telemetry.peerHeader;
    } else {
      ctx.upstreamHeaders[PEER_HEADER] = telemetry.peerHeader;
    }

    const hop = continueTrace(readTraceHeaders(requestHeaders), {
      samplingPercentage: policy.tracing[reporter].samplingPercentage,
      randomHex: telemetry.randomHex,
    });
    const upstreamTrace = traceHeaders(hop);
    for (const name of TRACE_HEADERS)
      if (name in ctx.upstreamHeaders && !(name in upstreamTrace)) delete ctx.upstreamHeaders[name];
    Object.assign(ctx.upstreamHeaders, upstreamTrace);

    let requestBytes = 0;
    let replayed = 0;
    const grpcMessages = isGrpcRequest(ctx)
      ? { request: createGrpcMessageCounter(), response: createGrpcMessageCounter() }
      : undefined;
    if (hasBody(ctx)) {
      // Counting starts when a consumer (pipe, body buffering) makes the body flow: a "data"
      // listener added earlier would start the flow itself, before anyone reads it.
      ctx.req.once("resume", () =>
        ctx.req.on("data", (chunk: Buffer) => {
          // Bytes put back after a buffering attempt (request-body.ts) flow a second time: not counted again.
          const replay = Math.min(chunk.length, (ctx.replayedBodyBytes ?? 0) - replayed);
          replayed += replay;
          requestBytes += chunk.length - replay;
          grpcMessages?.request.push(replay > 0 ? chunk.subarray(replay) : chunk);
        }),
      );
    }
    let responseBytes: number | undefined;
    let grpcStatus = "";
    let upstreamPrincipals: { peerPrincipal?: string; selfPrincipal?: string } = {};
    ctx.upstreamResponseHooks.push((response) => {
      if (reporter === "source") {
        peer = peerOf(single(response.headers[PEER_HEADER]));
        // Over mTLS to a sidecar: our certificate, and the server's as recorded at the handshake (a
        // resumed TLS session no longer shows it). An HTTP/2 stream's socket is its session's connection.
        const own = tlsPrincipals(response.socket);
        const server = telemetry.upstreamPrincipal(response.socket) ?? own.peerPrincipal;
        upstreamPrincipals = { ...own, ...(server ? { peerPrincipal: server } : {}) };
        delete response.headers[PEER_HEADER];
      }
      grpcStatus = single(response.headers["grpc-status"]) ?? "";
      response.once("end", () => {
        grpcStatus = single(response.trailers?.["grpc-status"]) ?? grpcStatus;
      });
      responseBytes = 0;
      response.on("data", (chunk: Buffer) => {
        responseBytes = (responseBytes ?? 0) + chunk.length;
        grpcMessages?.response.push(chunk);
      });
    });

    // Recorded in a microtask so the layers that flag `DC` on "close" have run first.
    ctx.res.once("close", () =>
      queueMicrotask(() => {
        const { res } = ctx;
        // Required fields first, optional ones only when known (one object per request, no spreads).
        const record: RequestRecord = {
          reporter,
          self: telemetry.self,
          connectionSecurityPolicy: reporter === "source" ? "unknown" : securityPolicyOf(ctx.req.socket),
          destinationService: telemetry.destinationService(
            ctx.authority,
            ctx.cluster?.service,
            reporter === "destination" ? local : undefined,
          ),
          startMs,
          durationMs: performance.now() - started,
          method: ctx.req.method ?? "GET",
          path: ctx.path,
          authority: ctx.authority,
          scheme: ctx.scheme,
          requestProtocol: (requestHeaders["content-type"] ?? "").startsWith("application/grpc")
            ? "grpc"
            : "http",
          requestHeaders,
          responseCode: res.headersSent ? res.statusCode : 0,
          responseFlags: responseFlagsOf(ctx) ?? NO_FLAG,
          // A proxied answer's trailers or headers; else the proxy's own trailers-only answer.
          grpcStatus: grpcStatus || String(res.getHeader("grpc-status") ?? ""),
          requestBytes: ctx.body?.length ?? sizedBody(ctx) ?? requestBytes,
          responseBytes:
            responseBytes ?? (res.headersSent ? Number(res.getHeader("content-length") ?? 0) : 0),
          trace: hop,
        };
        if (peer) record.peer = peer;
        const principals = reporter === "destination" ? tlsPrincipals(ctx.req.socket) : upstreamPrincipals;
        if (principals.peerPrincipal) record.peerPrincipal = principals.peerPrincipal;
        if (principals.selfPrincipal) record.selfPrincipal = principals.selfPrincipal;
        if (ctx.responseCodeDetails) record.responseCodeDetails = ctx.responseCodeDetails;
        if (grpcMessages)
          record.grpcMessages = {
            request: grpcMessages.request.messages,
            response: grpcMessages.response.messages,
          };
        addUpstream(record, ctx);
        // Inbound, the Service port of this listener: a caller keeping an outside Host (the edge) names
        // another port. Outbound, the routed cluster name (`outbound|<port>|…`) already carries it.
        const servicePort = ctx.direction === "inbound" && local ? telemetry.servicePortAt(local) : undefined;
        if (servicePort !== undefined) record.servicePort = servicePort;
        if (ctx.route) record.routeName = ctx.route.origin;
        if (remote) record.downstreamRemoteAddress = remote;
        if (local) record.downstreamLocalAddress = local;
        const requestId = ctx.upstreamHeaders["x-request-id"];
        if (typeof requestId === "string") record.requestId = requestId;
        telemetry.complete(record);
      }),
    );
    return next(ctx);
  };
}

/** The endpoint the request went to: `upstream_host` and, inbound, Envoy's `inbound|<port>||` cluster. */
function addUpstream(record: RequestRecord, ctx: ProxyContext): void {
  const endpoint = ctx.endpoint;
  if (!endpoint) return;
  record.upstreamHost = `${endpoint.address}:${endpoint.port}`;
  const upstreamCluster = ctx.direction === "inbound" ? `inbound|${endpoint.port}||` : ctx.cluster?.name;
  if (upstreamCluster) record.upstreamCluster = upstreamCluster;
}

/** Distinct peer header values remembered; a peer sends the same value on every request. */
const PEER_CACHE_SIZE = 256;

/**
 * {@link decodePeerHeader} remembering recent values, so a peer's header is parsed once, not per
 * request (the decoded metadata is shared read-only by the records).
 */
function createPeerDecoder(): (value: string | undefined) => WorkloadMetadata | undefined {
  const decoded = new Map<string, WorkloadMetadata | undefined>();
  return (value) => {
    if (value === undefined) return undefined;
    if (decoded.has(value)) return decoded.get(value);
    const meta = decodePeerHeader(value);
    // Many distinct values (a misbehaving caller) only cost a fresh start, never unbounded memory.
    if (decoded.size >= PEER_CACHE_SIZE) decoded.clear();
    decoded.set(value, meta);
    return meta;
  };
}

/** A fully received body's declared size: exact, even when part of it was read twice (put back after buffering). */
function sizedBody(ctx: ProxyContext): number | undefined {
  const declared = Number(ctx.req.headers["content-length"]);
  return ctx.req.readableEnded && Number.isInteger(declared) && declared >= 0 ? declared : undefined;
}

function single(value: string | string[] | undefined): string | undefined {
  return Array.isArray(value) ? value[0] : value;
}

/** Both ends' `address:port` of a connection, known once per connection (keep-alive carries many requests). */
const addressesBySocket = new WeakMap<object, { remote?: string; local?: string }>();

/** The connection's remote and local `address:port` (read while it is open: a closed socket forgets them). */
function addressesOf(socket: Socket): { remote?: string; local?: string } {
  let addresses = addressesBySocket.get(socket);
  if (!addresses) {
    addresses = {};
    if (socket.remoteAddress) addresses.remote = `${socket.remoteAddress}:${socket.remotePort}`;
    if (socket.localAddress) addresses.local = `${socket.localAddress}:${socket.localPort}`;
    // Not kept before both are known (a socket still connecting has none yet).
    if (addresses.remote && addresses.local) addressesBySocket.set(socket, addresses);
  }
  return addresses;
}

/** Both ends' SPIFFE IDs of a connection (parsed once per connection). */
const principalsBySocket = new WeakMap<TLSSocket, { peerPrincipal?: string; selfPrincipal?: string }>();

/**
 * Istio's `source_principal` / `destination_principal`: the peer's and this workload's SPIFFE IDs
 * when the connection (inbound from a client, or upstream to a server) is verified mutual TLS with
 * SPIFFE certificates on both ends; none (`unknown`) otherwise.
 */
function tlsPrincipals(socket: unknown): { peerPrincipal?: string; selfPrincipal?: string } {
  if (!(socket instanceof TLSSocket) || !socket.authorized) return {};
  let principals = principalsBySocket.get(socket);
  if (!principals) {
    const peer = peerSpiffeId(socket.getPeerX509Certificate());
    const self = peerSpiffeId(socket.getX509Certificate());
    principals = { ...(peer ? { peerPrincipal: peer } : {}), ...(self ? { selfPrincipal: self } : {}) };
    principalsBySocket.set(socket, principals);
  }
  return principals;
}

/** Istio's `connection_security_policy` of an inbound request: `mutual_tls` over a verified client certificate. */
function securityPolicyOf(socket: unknown): "mutual_tls" | "none" {
  return socket instanceof TLSSocket && socket.authorized ? "mutual_tls" : "none";
}
