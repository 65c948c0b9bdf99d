import type { IncomingHttpHeaders } from "node:http";
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
  return (next) => async (ctx) => {
    const reporter: Reporter = ctx.direction === "outbound" ? "source" : "destination";
    const startMs = Date.now();
    const started = performance.now();
    const requestHeaders = flatten(ctx.req.headers);
    const { socket } = ctx.req;
    const remote = socket.remoteAddress ? `${socket.remoteAddress}:${socket.remotePort}` : undefined;
    const local = socket.localAddress ? `${socket.localAddress}:${socket.localPort}` : undefined;
    const policy = telemetry.policy();

    let peer: WorkloadMetadata | undefined;
    delete ctx.upstreamHeaders[PEER_HEADER];
    if (reporter === "destination") {
      peer = decodePeerHeader(requestHeaders[PEER_HEADER]);
      // Answered to mesh peers only: a client outside the mesh does not learn workload names.
      if (peer) ctx.responseHeaders[PEER_HEADER] = telemetry.peerHeader;
    } else {
      ctx.upstreamHeaders[PEER_HEADER] = telemetry.peerHeader;
    }

    const hop = continueTrace(readTraceHeaders(requestHeaders), {
      samplingPercentage: policy.tracing[reporter].samplingPercentage,
      randomHex: telemetry.randomHex,
    });
    for (const name of TRACE_HEADERS) delete ctx.upstreamHeaders[name];
    Object.assign(ctx.upstreamHeaders, traceHeaders(hop));

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
        peer = decodePeerHeader(single(response.headers[PEER_HEADER]));
        // Over mTLS to a sidecar: our certificate, and the server's as recorded at the handshake (a
        // resumed TLS session no longer shows it). h2 streams have no socket here.
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
        const record: RequestRecord = {
          reporter,
          self: telemetry.self,
          ...(peer ? { peer } : {}),
          connectionSecurityPolicy: reporter === "source" ? "unknown" : securityPolicyOf(ctx.req.socket),
          ...(reporter === "destination" ? tlsPrincipals(ctx.req.socket) : upstreamPrincipals),
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
          ...(ctx.responseCodeDetails ? { responseCodeDetails: ctx.responseCodeDetails } : {}),
          // A proxied answer's trailers or headers; else the proxy's own trailers-only answer.
          grpcStatus: grpcStatus || String(res.getHeader("grpc-status") ?? ""),
          ...(grpcMessages
            ? {
                grpcMessages: {
                  request: grpcMessages.request.messages,
                  response: grpcMessages.response.messages,
                },
              }
            : {}),
          requestBytes: ctx.body?.length ?? sizedBody(ctx) ?? requestBytes,
          responseBytes:
            responseBytes ?? (res.headersSent ? Number(res.getHeader("content-length") ?? 0) : 0),
          ...upstreamOf(ctx),
          ...servicePortOf(ctx, telemetry, local),
          ...(ctx.route ? { routeName: ctx.route.origin } : {}),
          ...(remote ? { downstreamRemoteAddress: remote } : {}),
          ...(local ? { downstreamLocalAddress: local } : {}),
          ...requestIdOf(ctx),
          trace: hop,
        };
        telemetry.complete(record);
      }),
    );
    return next(ctx);
  };
}

function upstreamOf(ctx: ProxyContext): Pick<RequestRecord, "upstreamHost" | "upstreamCluster"> {
  const endpoint = ctx.endpoint;
  if (!endpoint) return {};
  const upstreamHost = `${endpoint.address}:${endpoint.port}`;
  const upstreamCluster = ctx.direction === "inbound" ? `inbound|${endpoint.port}||` : ctx.cluster?.name;
  return upstreamCluster ? { upstreamHost, upstreamCluster } : { upstreamHost };
}

/**
 * Inbound, the Service port of this listener: a caller keeping an outside Host (the edge) names
 * another port. Outbound, the routed cluster name (`outbound|<port>|…`) already carries it.
 */
function servicePortOf(
  ctx: ProxyContext,
  telemetry: SidecarTelemetry,
  local: string | undefined,
): Pick<RequestRecord, "servicePort"> {
  const port = ctx.direction === "inbound" && local ? telemetry.servicePortAt(local) : undefined;
  return port === undefined ? {} : { servicePort: port };
}

function requestIdOf(ctx: ProxyContext): Pick<RequestRecord, "requestId"> {
  const id = ctx.upstreamHeaders["x-request-id"];
  return typeof id === "string" ? { requestId: id } : {};
}

function flatten(headers: IncomingHttpHeaders): Record<string, string | undefined> {
  const out: Record<string, string | undefined> = {};
  for (const [name, value] of Object.entries(headers))
    out[name] = Array.isArray(value) ? value.join(", ") : value;
  return out;
}

/** A fully received body's declared size: exact, even when part of it was read twice (put back after buffering). */
function sizedBody(ctx: ProxyContext): number | undefined {
  const declared = Number(ctx.req.headers["content-length"]);
  return ctx.req.readableEnded && Number.isInteger(declared) && declared >= 0 ? declared : undefined;
}

function single(value: string | string[] | undefined): string | undefined {
  return Array.isArray(value) ? value[0] : value;
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
