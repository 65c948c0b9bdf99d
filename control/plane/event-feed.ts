import type { NatsConnection } from "@nats-io/nats-core";
import type { Verifier } from "../../broker/envelope.ts";
import { subscribeEvents } from "../../broker/event-subscriber.ts";
import type { Logger } from "../../broker/logger.ts";
import type { EventFeed } from "../admin/types.ts";

/**
 * The admin API's event stream source: one verified bus subscription per client
 * (`broker/event-subscriber.ts`), live once the server has acknowledged it.
 *
 * @example
 * ```ts
 * const feed = createNatsEventFeed(nc, verifier, console);
 * const sub = await feed.subscribe({ kind: "VirtualService" }, (e) => console.log(e.event.type));
 * ```
 */
export function createNatsEventFeed(nc: NatsConnection, verifier: Verifier, log?: Logger): EventFeed {
  return {
    async subscribe(filter, onEvent) {
      const subscription = subscribeEvents(nc, verifier, {
        filter,
        onEvent: (event, meta) => onEvent({ event, id: meta.id, iat: meta.iat, kid: meta.kid }),
        onReject: (reason, detail, subject) =>
          log?.warn(`event stream: dropped a message on ${subject}: ${reason}: ${detail}`),
      });
      // The subscription is live for the server once a round trip after it has completed.
      await nc.flush();
      return { stop: () => subscription.stop() };
    },
  };
}
