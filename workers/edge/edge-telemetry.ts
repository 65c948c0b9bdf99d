import type { Snapshot } from "../../control/compile/snapshot.ts";
import { NO_FLAG, RESPONSE_FLAGS_HEADER } from "../engine/index.ts";
import {
  continueTrace,
  decodePeerHeader,
  PEER_HEADER,
  type RequestRecord,
  readTraceHeaders,
  resolveDestinationService,
  TRACE_HEADERS,
  type TraceContext,
  traceHeaders,
  type WorkloadMetadata,
} from "../telemetry/index.ts";

/** What a worker needs per request, from the policy holder (plain data, crosses RPC). */
export interface EdgeTelemetrySettings {
  self: WorkloadMetadata;
  /** This edge's {@link PEER_HEADER} value. */
  peerHeader: string;
  /** Telemetry `randomSamplingPercentage` for the edge (a `source` reporter), else the mesh default. */
  samplingPercentage: number;
  /** Service FQDNs the edge's snapshot knows, and whether to fall back to the Host header. */
  hostHeaderFallback: boolean;
}

/** A request entering the edge: its trace hop and the request to route (trace headers set). */
export interface EdgeHop {
  request: Request;
  trace: TraceContext;
  requestId: string;
  startMs: number;
  started: number;
  requestHeaders: Record<string, string>;
}

/**
 * Starts the edge's hop: keeps or creates `x-request-id`, continues the caller's trace
 * (`traceparent`/`b3`/`x-b3-*`) with a new span or starts one sampled at the edge's percentage, and
 * writes every trace format and the edge's peer metadata onto the request sent on. Like an Istio
 * ingress gateway, the edge is where traces begin.
 *
 * @example
 * ```ts
 * const hop = beginEdgeHop(c.req.raw, settings, { randomHex, randomUUID: () => crypto.randomUUID(), now: Date.now });
 * const response = await routeRequest(hop.request, view, deps);
 * ```
 */
export function beginEdgeHop(
  request: Request,
  settings: EdgeTelemetrySettings,
  deps: { randomHex: (bytes: number) => string; randomUUID: () => string; now: () => number },
): EdgeHop {
  const requestHeaders: Record<string, string> = {};
  for (const [name, value] of request.headers) requestHeaders[name.toLowerCase()] = value;
  const trace = continueTrace(readTraceHeaders(requestHeaders), {
    samplingPercentage: settings.samplingPercentage,
    randomHex: deps.randomHex,
  });
  const headers = new Headers(request.headers);
  for (const name of TRACE_HEADERS) headers.delete(name);
  for (const [name, value] of Object.entries(traceHeaders(trace))) headers.set(name, value);
  const requestId = requestHeaders["x-request-id"] || deps.randomUUID();
  headers.set("x-request-id", requestId);
  headers.set(PEER_HEADER, settings.peerHeader);
  return {
    request: new Request(request, { headers }),
    trace,
    requestId,
    startMs: deps.now(),
    started: performance.now(),
    requestHeaders,
  };
}

/** What routing learned about the request (from the engine's decision). */
export interface EdgeRouting {
  /** Service FQDN of the routed cluster. */
  service?: string;
  cluster?: string;
}

/**
 * Ends the hop: removes the destination proxy's peer metadata from the response (the client never
 * sees it), counts the response body as it streams, and once it is done hands the completed
 * {@link RequestRecord} to `report` (the policy holder aggregates metrics and exports the span),
 * kept alive past the response with `waitUntil`. `destination_service` is the routed service, else
 * a service the Host names, else the Host (unless the Telemetry turned host-header fallback off).
 *
 * @example
 * ```ts
 * return finishEdgeHop(hop, response, { settings, routing, snapshot, report: (r) => holder.report(r), waitUntil });
 * ```
 */
export function finishEdgeHop(
  hop: EdgeHop,
  response: Response,
  opts: {
    settings: EdgeTelemetrySettings;
    routing: EdgeRouting;
    snapshot: Snapshot | undefined;
    report: (record: RequestRecord) => Promise<unknown>;
    waitUntil: (work: Promise<unknown>) => void;
  },
): Response {
  const url = new URL(hop.request.url);
  const destinationService = resolveDestinationService({
    ...(opts.routing.service ? { routed: opts.routing.service } : {}),
    authority: url.host,
    knownServices: new Set(Object.values(opts.snapshot?.clusters ?? {}).map((cluster) => cluster.service)),
    namespace: opts.settings.self.namespace,
    suffix: opts.snapshot?.proxy.domainSuffix ?? "cluster.local",
    hostHeaderFallback: opts.settings.hostHeaderFallback,
  });
  let done: (record: RequestRecord) => void = () => {};
  opts.waitUntil(
    new Promise<RequestRecord>((resolve) => {
      done = resolve;
    }).then(opts.report),
  );
  const peer = decodePeerHeader(response.headers.get(PEER_HEADER) ?? undefined);
  const headers = new Headers(response.headers);
  headers.delete(PEER_HEADER);
  const record = (responseBytes: number): RequestRecord => ({
    reporter: "source",
    self: opts.settings.self,
    ...(peer ? { peer } : {}),
    connectionSecurityPolicy: "unknown",
    destinationService,
    startMs: hop.startMs,
    durationMs: performance.now() - hop.started,
    method: hop.request.method,
    path: `${url.pathname}${url.search}`,
    authority: url.host,
    scheme: url.protocol === "https:" ? "https" : "http",
    requestProtocol: (hop.requestHeaders["content-type"] ?? "").startsWith("application/grpc")
      ? "grpc"
      : "http",
    requestHeaders: hop.requestHeaders,
    responseCode: response.status,
    responseFlags: response.headers.get(RESPONSE_FLAGS_HEADER) ?? NO_FLAG,
    grpcStatus: response.headers.get("grpc-status") ?? "",
    requestBytes: Number(hop.requestHeaders["content-length"] ?? 0) || 0,
    responseBytes,
    ...(opts.routing.cluster ? { upstreamCluster: opts.routing.cluster } : {}),
    ...(hop.requestHeaders["cf-connecting-ip"]
      ? { downstreamRemoteAddress: hop.requestHeaders["cf-connecting-ip"] }
      : {}),
    requestId: hop.requestId,
    trace: hop.trace,
  });
  const init = { status: response.status, statusText: response.statusText, headers };
  if (response.body === null) {
    done(record(0));
    return new Response(null, init);
  }
  let bytes = 0;
  const counter = new TransformStream<Uint8Array, Uint8Array>({
    transform(chunk, controller) {
      bytes += chunk.byteLength;
      controller.enqueue(chunk);
    },
    flush() {
      done(record(bytes));
    },
  });
  return new Response(response.body.pipeThrough(counter), init);
}

/**
 * Per-isolate cache of the holder's telemetry settings: asked at most once per `ttlMs` (1 s), so a
 * Telemetry change reaches every isolate within a second without an extra call per request. When
 * the holder cannot answer, the last settings stay in use.
 *
 * @example
 * ```ts
 * const settingsOf = cacheTelemetrySettings(Date.now);
 * const settings = await settingsOf(() => holder.telemetrySettings());
 * ```
 */
export function cacheTelemetrySettings(
  now: () => number,
  ttlMs = 1_000,
): (load: () => Promise<EdgeTelemetrySettings | undefined>) => Promise<EdgeTelemetrySettings | undefined> {
  let cached: { at: number; settings: EdgeTelemetrySettings | undefined } | undefined;
  return async (load) => {
    const at = now();
    if (cached && at - cached.at < ttlMs) return cached.settings;
    try {
      cached = { at, settings: await load() };
    } catch (error) {
      console.warn(`jibe edge: telemetry settings unavailable: ${String(error)}`);
      cached = { at, settings: cached?.settings };
    }
    return cached.settings;
  };
}
