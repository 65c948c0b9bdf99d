import { Hono } from "hono";
import { streamSSE } from "hono/streaming";
import { MESH_EVENT_TYPES, type MeshEventType } from "../../broker/events.ts";
import type { Logger } from "../../broker/logger.ts";
import { AdminHttpError } from "./http-errors.ts";
import { kindParam } from "./kind-param.ts";
import type { EventFeed, EventFilter, StreamedEvent } from "./types.ts";

/** A client this far behind is cut off rather than buffered without bound. */
const MAX_PENDING_WRITES = 1_000;

/**
 * `GET /events`: a Server-Sent Events stream of verified bus events, `event: <type>`,
 * `data: <StreamedEvent JSON>`, `id: <revision>`. The first line is the comment `: subscribed` (sent once the
 * bus subscription is live, so clients know from when they miss nothing); then `: heartbeat` comments keep
 * idle connections open. Filters: `?type=resource.applied&kind=vs&namespace=default`.
 *
 * @example
 * ```ts
 * api.route("/", eventRoutes(feed, { heartbeatMs: 15_000 }));
 * ```
 */
export function eventRoutes(feed: EventFeed, opts: { heartbeatMs: number; log?: Logger }): Hono {
  return new Hono().get("/events", (c) => {
    const filter = eventFilter(c.req.query());
    return streamSSE(
      c,
      async (stream) => {
        const closed = new Promise<void>((resolve) => stream.onAbort(resolve));
        let pending = 0;
        let writes: Promise<unknown> = Promise.resolve();
        const send = (item: StreamedEvent) => {
          if (++pending > MAX_PENDING_WRITES) {
            opts.log?.warn("admin API: closing an event stream whose client does not keep up");
            stream.abort();
            return;
          }
          writes = writes
            .then(() =>
              stream.writeSSE({
                event: item.event.type,
                data: JSON.stringify(item),
                id: String(item.event.revision),
              }),
            )
            .finally(() => pending--);
        };
        const subscription = await feed.subscribe(filter, send);
        const heartbeat = setInterval(() => {
          writes = writes.then(() => stream.write(": heartbeat\n\n"));
        }, opts.heartbeatMs);
        try {
          if (!stream.aborted) {
            await stream.write(": subscribed\n\n");
            await closed;
          }
        } finally {
          clearInterval(heartbeat);
          subscription.stop();
        }
      },
      async (error) => {
        // streamSSE then sends `event: error` with the message and closes the stream.
        opts.log?.warn(`admin API: event stream failed: ${error.message}`);
      },
    );
  });
}

function eventFilter(query: Record<string, string>): EventFilter {
  const filter: EventFilter = {};
  if (query.type) {
    if (!MESH_EVENT_TYPES.includes(query.type as MeshEventType)) {
      throw new AdminHttpError(
        "bad-request",
        400,
        `unknown event type "${query.type}"; use one of ${MESH_EVENT_TYPES.join(", ")}`,
      );
    }
    filter.type = query.type as MeshEventType;
  }
  if (query.kind) filter.kind = kindParam(query.kind);
  if (query.namespace) filter.namespace = query.namespace;
  return filter;
}
