import type { Endpoint } from "../../control/compile/snapshot.ts";
import { hopByHopNames } from "../engine/hop-by-hop.ts";

/** One attempt: where it goes, what is sent. */
export interface UpstreamCall {
  endpoint: Endpoint;
  method: string;
  /** Origin-form target after rewrites: `/path?query`. */
  path: string;
  headers: Headers;
  body: BodyInit | null;
  /** Gives up when no response headers arrived in time. */
  timeoutMs?: number;
}

/** How one attempt ended. */
export type UpstreamAttempt =
  | { kind: "response"; response: Response }
  /** fetch failed: workerd does not tell a refused connection from a reset, both count as `UF`. */
  | { kind: "connect-failure"; message: string }
  | { kind: "timeout"; message: string };

/** Injected so tests and other runtimes can swap the transport; `fetch` and `crypto.randomUUID` in workerd. */
export interface UpstreamDeps {
  fetch: (input: string, init: RequestInit) => Promise<Response>;
  newRequestId: () => string;
}

/**
 * Sends one attempt to an endpoint; resolves when response headers arrived (the body streams
 * later) or the attempt failed.
 *
 * @example
 * ```ts
 * const attempt = await attemptUpstream({ endpoint, method: "GET", path: "/", headers, body: null }, deps);
 * ```
 */
export async function attemptUpstream(call: UpstreamCall, deps: UpstreamDeps): Promise<UpstreamAttempt> {
  const { endpoint, timeoutMs } = call;
  const target = `http://${formatHost(endpoint.address)}:${endpoint.port}${call.path}`;
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
  try {
    const response = await deps.fetch(target, {
      method: call.method,
      headers: call.headers,
      body: call.method === "GET" || call.method === "HEAD" ? null : call.body,
      redirect: "manual",
      signal: abort.signal,
    });
    return { kind: "response", response };
  } catch (error) {
    if (timedOut) return { kind: "timeout", message: `upstream ${target} timed out after ${timeoutMs} ms` };
    return { kind: "connect-failure", message: `upstream ${target} failed: ${describe(error)}` };
  } finally {
    clearTimeout(timer);
  }
}

/** The upstream's answer as the edge's response: hop-by-hop headers removed, body streamed. */
export function relayUpstream(upstream: Response): Response {
  const headers = new Headers(upstream.headers);
  stripHopByHop(headers);
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
  for (const name of hopByHopNames(headers.get("connection"))) headers.delete(name);
}

function formatHost(address: string): string {
  return address.includes(":") && !address.startsWith("[") ? `[${address}]` : address;
}

function describe(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}
