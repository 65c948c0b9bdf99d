import { Agent, type IncomingHttpHeaders, request } from "node:http";
import { TRACE_HEADERS } from "../../../workers/telemetry/trace-context.ts";

/** The bookinfo services, each exposed on port {@link SERVICE_PORT} in the mesh. */
export type BookinfoService = "productpage" | "details" | "reviews" | "ratings";

/** The port every bookinfo Service exposes, as in Istio's sample. */
export const SERVICE_PORT = 9080;

/**
 * Headers an app must copy from its incoming request to its outgoing calls so routing (`end-user`)
 * and tracing (request id, W3C trace context, B3, OpenTracing) follow the request, exactly the list
 * Istio's bookinfo productpage forwards.
 */
export const PROPAGATED_HEADERS = [
  "end-user",
  "x-request-id",
  ...TRACE_HEADERS,
  "x-ot-span-context",
] as const;

/** What a failed downstream call looks like in a page, like bookinfo's "reviews unavailable". */
export interface DownstreamError {
  error: string;
  /** HTTP status, when the mesh answered. */
  status?: number;
  /** `x-jibe-response-flags` of the answer (`UH`, `NR`, ...): why the mesh could not serve it. */
  flags?: string;
  /** `x-jibe-route` of the answer: which route decided. */
  route?: string;
  detail?: string;
}

export type DownstreamResult =
  | { ok: true; body: Record<string, unknown> }
  | { ok: false; error: DownstreamError };

/** Calls another bookinfo service with the caller's propagated headers. */
export type DownstreamCall = (service: BookinfoService, path: string) => Promise<DownstreamResult>;

/** Calls to other services, through the local sidecar. */
export interface DownstreamClient {
  /** A call function carrying `headers` (only {@link PROPAGATED_HEADERS} are forwarded). */
  forRequest(headers: Readonly<Record<string, string | undefined>>): DownstreamCall;
  close(): void;
}

/**
 * Sends calls to the sidecar's outbound listener at `outboundUrl` with `Host: <service>:9080`, over
 * keep-alive connections; any failure (mesh error status, refused connection, timeout) comes back
 * as a {@link DownstreamError} so the caller can degrade instead of failing.
 *
 * @example
 * ```ts
 * const client = createDownstreamClient("http://127.0.0.1:15001");
 * const reviews = await client.forRequest({ "end-user": "jason" })("reviews", "/reviews/0");
 * ```
 */
export function createDownstreamClient(
  outboundUrl: string | undefined,
  timeoutMs = 3_000,
  /** False: forward only `end-user`, like an app that knows nothing about tracing (see the propagation preload). */
  propagateTraceHeaders = true,
): DownstreamClient {
  const agent = new Agent({ keepAlive: true, maxSockets: 64 });
  const outbound = outboundUrl ? new URL(outboundUrl) : undefined;
  return {
    forRequest(headers) {
      const propagated: Record<string, string> = {};
      for (const name of propagateTraceHeaders ? PROPAGATED_HEADERS : (["end-user"] as const)) {
        const value = headers[name];
        if (value !== undefined && value !== "") propagated[name] = value;
      }
      return (service, path) => {
        const unavailable = `${service} unavailable`;
        if (!outbound)
          return Promise.resolve({ ok: false, error: { error: unavailable, detail: "no outboundUrl" } });
        return new Promise((resolve) => {
          const call = request(
            {
              agent,
              host: outbound.hostname,
              port: Number(outbound.port || 80),
              path,
              headers: { ...propagated, host: `${service}:${SERVICE_PORT}`, accept: "application/json" },
              timeout: timeoutMs,
            },
            (response) => {
              const chunks: Buffer[] = [];
              response.on("data", (chunk: Buffer) => chunks.push(chunk));
              response.on("error", (e) =>
                resolve({ ok: false, error: { error: unavailable, detail: e.message } }),
              );
              response.on("end", () =>
                resolve(readAnswer(unavailable, response.statusCode ?? 0, response.headers, chunks)),
              );
            },
          );
          call.on("timeout", () => call.destroy(new Error(`no answer within ${timeoutMs} ms`)));
          call.on("error", (e) => resolve({ ok: false, error: { error: unavailable, detail: e.message } }));
          call.end();
        });
      };
    },
    close: () => agent.destroy(),
  };
}

function readAnswer(
  unavailable: string,
  status: number,
  headers: IncomingHttpHeaders,
  chunks: Buffer[],
): DownstreamResult {
  const text = Buffer.concat(chunks).toString("utf8");
  if (status >= 200 && status < 300) {
    try {
      const body: unknown = JSON.parse(text);
      if (typeof body === "object" && body !== null && !Array.isArray(body)) {
        return { ok: true, body: body as Record<string, unknown> };
      }
    } catch {
      // fall through: a 2xx that is not a JSON object is as useless to the page as an error
    }
  }
  const error: DownstreamError = { error: unavailable, status };
  const flags = headers["x-jibe-response-flags"];
  const route = headers["x-jibe-route"];
  if (typeof flags === "string") error.flags = flags;
  if (typeof route === "string") error.route = route;
  const detail = text.trim().slice(0, 200);
  if (detail) error.detail = detail;
  return { ok: false, error };
}
