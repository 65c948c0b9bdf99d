import type { IncomingMessage, OutgoingHttpHeaders, ServerResponse } from "node:http";
import type { Duplex } from "node:stream";
import type {
  Cluster,
  HeaderPolicy,
  Route,
  UpstreamTlsSettings,
  WeightedCluster,
} from "../../control/compile/snapshot.ts";
import { formatResponseFlags, type ResponseFlag, type RouteDecision } from "../engine/index.ts";
import type { Http2SessionPool } from "./upstream-h2.ts";

/** Which listener a request came in on: `outbound` (app → mesh) or `inbound` (mesh → app). */
export type Direction = "inbound" | "outbound";

/** Why the proxy gave up on a request before it completed. */
export interface ProxyAbort {
  flag: Extract<ResponseFlag, "UT" | "DC">;
  message: string;
}

/** An upstream address the request is sent to (another sidecar's inbound listener, or the local app). */
export interface UpstreamAddress {
  address: string;
  port: number;
  /**
   * `mtls`: another sidecar reached with the workload's mesh certificate (auto-mTLS, ISTIO_MUTUAL);
   * `tls`: TLS origination with user settings (DestinationRule SIMPLE / MUTUAL); absent: plaintext.
   */
  transport?: "mtls" | "tls";
  /** The cluster's DestinationRule TLS settings, when the handshake depends on them. */
  origination?: UpstreamOrigination;
}

/** A cluster's DestinationRule TLS origination, as the upstream dialer needs it. */
export interface UpstreamOrigination {
  /** Identifies these settings among connection pools (cluster name, mode and settings). */
  key: string;
  mode: "SIMPLE" | "MUTUAL" | "ISTIO_MUTUAL";
  settings: UpstreamTlsSettings;
  /** The SNI (and name to verify) when `settings.sni` is unset: the service host. */
  serverName: string;
}

/**
 * The state of one request as it passes through the layers of a pipeline. Layers read what earlier
 * layers decided and add their own part; the terminal handler forwards the request upstream.
 */
export interface ProxyContext {
  readonly direction: Direction;
  readonly req: IncomingMessage;
  readonly res: ServerResponse;
  /** Aborted (with a {@link ProxyAbort} reason) on route timeout or downstream disconnect. */
  readonly abort: AbortController;
  /** Target authority as the client gave it (Host header or absolute-form URI), e.g. `reviews:9080`. */
  authority: string;
  /** Origin-form request target: `/path?query`. */
  path: string;
  scheme: "http" | "https";
  /** Headers sent upstream; starts as a copy of the request headers. */
  upstreamHeaders: OutgoingHttpHeaders;
  /** Headers added to whatever response goes back downstream, proxied or generated locally. */
  responseHeaders: Record<string, string>;
  /** Called with the upstream response before it is relayed; a hook may read it and remove headers. */
  readonly upstreamResponseHooks: Array<(response: IncomingMessage) => void>;
  route?: Route;
  /** The engine's decision for a routed (outbound) request. */
  decision?: Exclude<RouteDecision, { kind: "noRoute" }>;
  cluster?: Cluster;
  /** The weighted destination the request was routed to (its header policy applies). */
  destination?: WeightedCluster;
  /** Clusters of the route table that routed the request (mirrors look theirs up here). */
  clusters?: Readonly<Record<string, Cluster>>;
  endpoint?: UpstreamAddress;
  timeoutMs?: number;
  /** Set when the proxy itself failed or answered the request (Envoy-style response flag). */
  flag?: ResponseFlag;
  /** Flags noted besides `flag` (`DI` a fault delayed it, `URX` retries ran out); reported together. */
  extraFlags?: ResponseFlag[];
  /** Envoy's `%RESPONSE_CODE_DETAILS%` when the proxy decided, e.g. `ext_authz_denied`. */
  responseCodeDetails?: string;
  /** The route's response header policies, applied to proxied and locally generated answers alike. */
  responseHeaderPolicies?: HeaderPolicy[];
  /** The request body, once read into memory (retries and mirrors resend it). */
  body?: Buffer;
  /** Body bytes read while trying to buffer, then put back on the stream (telemetry counts them once). */
  replayedBodyBytes?: number;
  /** An HTTP/1.1 `Upgrade` request (WebSocket): the raw downstream connection, spliced once upstream agrees (101). */
  upgrade?: { socket: Duplex; head: Buffer; upstream?: { socket: Duplex; head: Buffer } };
  /** Sends the request upstream over HTTP/2 (h2c, or h2 in mTLS) instead of HTTP/1.1 (`upstream-protocol.ts`). */
  http2Upstream?: Http2SessionPool;
}

/** Notes a flag besides the main one (`DI`, `URX`). */
export function addFlag(ctx: ProxyContext, flag: ResponseFlag): void {
  if (ctx.extraFlags) ctx.extraFlags.push(flag);
  else ctx.extraFlags = [flag];
}

/**
 * Every flag of a request in Envoy's format (`UF,URX`), or undefined when the proxy flagged nothing.
 *
 * @example
 * ```ts
 * responseFlagsOf({ ...ctx, flag: "UF", extraFlags: ["URX"] }); // "UF,URX"
 * ```
 */
export function responseFlagsOf(ctx: Pick<ProxyContext, "flag" | "extraFlags">): string | undefined {
  const flags = formatResponseFlags([...(ctx.flag ? [ctx.flag] : []), ...(ctx.extraFlags ?? [])]);
  return flags === "" ? undefined : flags;
}

/**
 * What a synchronous layer returns when it answered the request itself (nothing left to await).
 *
 * @example
 * ```ts
 * const layer: Layer = (next) => (ctx) => (ctx.authority ? next(ctx) : (respondLocally(ctx, 400, "DPE", "no authority"), ANSWERED));
 * ```
 */
export const ANSWERED: Promise<void> = Promise.resolve();

/** Handles a request; resolves once the handler has taken responsibility for the response. */
export type Handler = (ctx: ProxyContext) => Promise<void>;

/**
 * One concern of the proxy, wrapped around the rest of the pipeline. A layer that awaits nothing
 * returns `next(ctx)` from a plain (not `async`) function: an `async` wrapper would add a promise
 * and microtask turns to every request, for every such layer. (Below `catchInternalErrors`, a
 * synchronous throw is still caught: it awaits `next` inside its `try`.)
 */
export type Layer = (next: Handler) => Handler;

/**
 * Stacks layers around a terminal handler; the first layer sees the request first.
 *
 * @example
 * ```ts
 * const handler = compose([recordStats(stats), assignRequestId()], forwardUpstream(pool));
 * ```
 */
export function compose(layers: readonly Layer[], terminal: Handler): Handler {
  return layers.reduceRight<Handler>((next, layer) => layer(next), terminal);
}

/** A fresh context for one request on a listener. */
export function createContext(direction: Direction, req: IncomingMessage, res: ServerResponse): ProxyContext {
  return {
    direction,
    req,
    res,
    abort: new AbortController(),
    authority: req.headers.host ?? headerValue(req.headers[":authority"]) ?? "",
    path: req.url ?? "/",
    scheme: "http",
    upstreamHeaders: withoutPseudoHeaders(req.headers),
    responseHeaders: {},
    upstreamResponseHooks: [],
  };
}

/** HTTP/2 pseudo-headers (`:method`, `:path`, …) describe the request; they are not forwarded as headers. */
function withoutPseudoHeaders(headers: IncomingMessage["headers"]): OutgoingHttpHeaders {
  const out: OutgoingHttpHeaders = {};
  for (const name in headers) if (name.charCodeAt(0) !== 58 /* ":" */) out[name] = headers[name];
  return out;
}

function headerValue(value: string | string[] | undefined): string | undefined {
  return Array.isArray(value) ? value[0] : value;
}
