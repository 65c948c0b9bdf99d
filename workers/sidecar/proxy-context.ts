import type { IncomingMessage, OutgoingHttpHeaders, ServerResponse } from "node:http";
import type { Cluster, HeaderPolicy, Route, WeightedCluster } from "../../control/compile/snapshot.ts";
import { formatResponseFlags, type ResponseFlag, type RouteDecision } from "../engine/index.ts";

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
  /** `mtls`: the endpoint is another sidecar reached with mutual TLS (auto-mTLS); absent: plaintext. */
  transport?: "mtls";
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
  /** The route's response header policies, applied to proxied and locally generated answers alike. */
  responseHeaderPolicies?: HeaderPolicy[];
  /** The request body, once read into memory (retries and mirrors resend it). */
  body?: Buffer;
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

/** Handles a request; resolves once the handler has taken responsibility for the response. */
export type Handler = (ctx: ProxyContext) => Promise<void>;

/** One concern of the proxy, wrapped around the rest of the pipeline. */
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
    authority: req.headers.host ?? "",
    path: req.url ?? "/",
    scheme: "http",
    upstreamHeaders: { ...req.headers },
    responseHeaders: {},
    upstreamResponseHooks: [],
  };
}
