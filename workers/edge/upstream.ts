import type { Endpoint } from "../../control/compile/snapshot.ts";
import { flaggedResponse, ROUTE_HEADER } from "./response-flags.ts";

/** Headers that describe one hop, never forwarded (RFC 9110 §7.6.1, plus the proxy ones). */
const HOP_BY_HOP = [
  "connection",
  "keep-alive",
  "proxy-connection",
  "proxy-authenticate",
  "proxy-authorization",
  "te",
  "trailer",
  "transfer-encoding",
  "upgrade",
];

/** One forward: the request, where it goes and under which route. */
export interface UpstreamCall {
  request: Request;
  url: URL;
  endpoint: Endpoint;
  routeOrigin: string;
  timeoutMs?: number;
}

/** Injected so tests and other runtimes can swap the transport; `fetch` and `crypto.randomUUID` in workerd. */
export interface UpstreamDeps {
  fetch: (input: string, init: RequestInit) => Promise<Response>;
  newRequestId: () => string;
}

/**
 * Forwards the request to one endpoint and streams the answer back with `x-jibe-route`.
 * A connection failure answers 503 `UF`; no response headers within the route timeout, 504 `UT`.
 *
 * @example
 * ```ts
 * const res = await forwardToEndpoint({ request, url, endpoint, routeOrigin: route.origin }, deps);
 * ```
 */
export async function forwardToEndpoint(call: UpstreamCall, deps: UpstreamDeps): Promise<Response> {
  const { request, url, endpoint, routeOrigin, timeoutMs } = call;
  const target = `http://${formatHost(endpoint.address)}:${endpoint.port}${url.pathname}${url.search}`;
  const abort = new AbortController();
  let timedOut = false;
  // The timeout bounds the wait for response headers; a streaming body is not cut off mid-way.
  const timer =
    timeoutMs && timeoutMs > 0
      ? setTimeout(() => {
          timedOut = true;
          abort.abort();
        }, timeoutMs)
      : undefined;
  let upstream: Response;
  try {
    upstream = await deps.fetch(target, {
      method: request.method,
      headers: upstreamHeaders(request, url, deps.newRequestId),
      body: request.method === "GET" || request.method === "HEAD" ? null : request.body,
      redirect: "manual",
      signal: abort.signal,
    });
  } catch (error) {
    if (timedOut) {
      return flaggedResponse(504, "UT", `upstream ${target} timed out after ${timeoutMs} ms`, routeOrigin);
    }
    return flaggedResponse(503, "UF", `upstream ${target} failed: ${describe(error)}`, routeOrigin);
  } finally {
    clearTimeout(timer);
  }
  const headers = new Headers(upstream.headers);
  stripHopByHop(headers);
  headers.set(ROUTE_HEADER, routeOrigin);
  return new Response(upstream.body, { status: upstream.status, statusText: upstream.statusText, headers });
}

/** The request headers sent upstream: hop-by-hop removed, `x-forwarded-*` and `x-request-id` added. */
export function upstreamHeaders(request: Request, url: URL, newRequestId: () => string): Headers {
  const headers = new Headers(request.headers);
  stripHopByHop(headers);
  const client = request.headers.get("cf-connecting-ip");
  if (client) {
    const prior = headers.get("x-forwarded-for");
    headers.set("x-forwarded-for", prior ? `${prior}, ${client}` : client);
  }
  headers.set("x-forwarded-proto", url.protocol.replace(/:$/, ""));
  headers.set("x-forwarded-host", url.host);
  if (!headers.has("x-request-id")) headers.set("x-request-id", newRequestId());
  return headers;
}

function stripHopByHop(headers: Headers): void {
  // Names listed in `Connection` are hop-by-hop too.
  const listed = (headers.get("connection") ?? "").split(",").map((n) => n.trim().toLowerCase());
  for (const name of [...HOP_BY_HOP, ...listed]) if (name) headers.delete(name);
}

function formatHost(address: string): string {
  return address.includes(":") && !address.startsWith("[") ? `[${address}]` : address;
}

function describe(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}
