import { createServer } from "node:http";
import type { AddressInfo } from "node:net";
import { detailsHandler } from "./details.ts";
import { type BookinfoService, createDownstreamClient, type DownstreamClient } from "./downstream.ts";
import { productpageHandler } from "./productpage.ts";
import { ratingsHandler } from "./ratings.ts";
import { reviewsHandler } from "./reviews.ts";
import type { SampleAnswer, SampleHandler, ServiceIdentity } from "./sample-handler.ts";

/** Options of {@link startSampleService}. */
export interface SampleServiceOptions {
  service: BookinfoService;
  version: string;
  /** Listen port on `host`; 0 or absent picks a free one. */
  port?: number;
  /** Default 127.0.0.1. */
  host?: string;
  /** The sidecar's outbound listener, e.g. `http://127.0.0.1:15001`; calls to other services go there. */
  outboundUrl?: string;
  /** Per-call timeout for calls to other services; default 3 s. */
  callTimeoutMs?: number;
  /**
   * Copy the trace headers to calls to other services, as Istio requires of apps (default true).
   * False mimics an app without tracing code; run it with `--import jibe/propagation` to stitch traces.
   */
  propagateTraceHeaders?: boolean;
}

/** A running sample service. */
export interface SampleService {
  port: number;
  stop(): Promise<void>;
}

const HANDLERS: Record<
  BookinfoService,
  (identity: ServiceIdentity, client: DownstreamClient) => SampleHandler
> = {
  productpage: productpageHandler,
  details: (identity) => detailsHandler(identity),
  reviews: reviewsHandler,
  ratings: (identity) => ratingsHandler(identity),
};

/**
 * Starts one instance of the bookinfo-like sample (plain `node:http`). Every answer is JSON naming
 * the service and version that served it and, nested, every hop below it. All instances also
 * answer `GET /health`.
 *
 * @example
 * ```ts
 * const reviews = await startSampleService({ service: "reviews", version: "v3", outboundUrl: "http://127.0.0.1:15001" });
 * // GET http://127.0.0.1:<reviews.port>/reviews/0 → { service: "reviews", version: "v3", ratings: { service: "ratings", ... } }
 * await reviews.stop();
 * ```
 */
export async function startSampleService(options: SampleServiceOptions): Promise<SampleService> {
  const identity: ServiceIdentity = { service: options.service, version: options.version };
  const client = createDownstreamClient(
    options.outboundUrl,
    options.callTimeoutMs,
    options.propagateTraceHeaders ?? true,
  );
  const handle = HANDLERS[options.service](identity, client);

  const server = createServer((req, res) => {
    const url = new URL(req.url ?? "/", "http://sample.invalid");
    const headers: Record<string, string | undefined> = {};
    for (const [name, value] of Object.entries(req.headers))
      headers[name] = Array.isArray(value) ? value.join(", ") : value;
    const reply = (result: SampleAnswer) => {
      const text = `${JSON.stringify(result.body)}\n`;
      res.writeHead(result.status, {
        "content-type": "application/json",
        "content-length": Buffer.byteLength(text),
      });
      res.end(text);
    };
    if (url.pathname === "/health") {
      reply({ status: 200, body: { status: "Healthy", ...identity } });
      return;
    }
    if (req.method !== "GET" && req.method !== "HEAD") {
      reply({ status: 405, body: { error: `${req.method} not allowed`, ...identity } });
      return;
    }
    handle({ method: req.method, path: url.pathname, query: url.searchParams, headers })
      .then((result) =>
        reply(result ?? { status: 404, body: { error: `no route ${url.pathname}`, ...identity } }),
      )
      .catch((error: unknown) => reply({ status: 500, body: { error: String(error), ...identity } }));
  });
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(options.port ?? 0, options.host ?? "127.0.0.1", () => resolve());
  });
  return {
    port: (server.address() as AddressInfo).port,
    stop: () =>
      new Promise<void>((resolve) => {
        client.close();
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}
