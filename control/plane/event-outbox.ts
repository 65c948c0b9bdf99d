import type { MeshEvent } from "../../broker/events.ts";
import { formatRef } from "../../broker/events.ts";
import type { Logger } from "../../broker/logger.ts";

/** The part of `broker/event-publisher.ts` the outbox needs. */
export interface EventSink {
  publish(event: MeshEvent): Promise<void>;
}

/**
 * Publishes events in order and keeps the ones that could not be published for a later retry.
 *
 * Why: a resource is durable once it is in the config store; if its event is lost, proxies only notice at
 * the next event (revision gap → resync from the store) or on reconnect. Retrying the held events before
 * anything newer keeps the bus in revision order and closes that window at the next write.
 *
 * @example
 * ```ts
 * const outbox = createEventOutbox(publisher, console);
 * const published = await outbox.send(event); // false: held, retried by the next send()/flush()
 * ```
 */
export interface EventOutbox {
  /** Publishes `event` after any held ones; `false` if it is held for retry instead. */
  send(event: MeshEvent): Promise<boolean>;
  /** Retries held events; `true` when none are left. */
  flush(): Promise<boolean>;
  readonly pending: number;
}

export function createEventOutbox(sink: EventSink, log?: Logger): EventOutbox {
  const held: MeshEvent[] = [];

  async function flush(): Promise<boolean> {
    while (held.length > 0) {
      const next = held[0]!;
      try {
        await sink.publish(next);
      } catch (error) {
        log?.warn(`event outbox: ${held.length} event(s) still unpublished: ${String(error)}`);
        return false;
      }
      held.shift();
    }
    return true;
  }

  return {
    get pending() {
      return held.length;
    },
    flush,
    async send(event) {
      if (!(await flush())) {
        held.push(event);
        return false;
      }
      try {
        await sink.publish(event);
        return true;
      } catch (error) {
        log?.warn(
          `could not publish ${event.type} ${formatRef(event.ref)} revision ${event.revision}; held for retry: ${String(error)}`,
        );
        held.push(event);
        return false;
      }
    },
  };
}
