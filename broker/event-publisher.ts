import type { NatsConnection } from "@nats-io/nats-core";
import { type Signer, signEvent } from "./envelope.ts";
import type { MeshEvent } from "./events.ts";
import { subjectFor } from "./subjects.ts";

/**
 * Publishes signed mesh events on core NATS, on the subject derived from each event. Events go
 * out in the order `publish` was called even though signing is asynchronous, because proxies
 * treat a revision jump as a gap and resync.
 *
 * @example
 * ```ts
 * const publisher = createEventPublisher(nc, signer);
 * await publisher.publish({ type: "resource.deleted", ref, revision: 43 });
 * ```
 */
export interface EventPublisher {
  /** Signs, publishes and flushes; resolves once the server has the message. */
  publish(event: MeshEvent): Promise<void>;
}

export function createEventPublisher(
  nc: NatsConnection,
  signer: Signer,
  clock: () => number = Date.now,
): EventPublisher {
  let tail: Promise<unknown> = Promise.resolve();
  return {
    publish(event) {
      const done = tail.then(async () => {
        const jws = await signEvent(signer, event, clock());
        nc.publish(subjectFor(event), jws);
        await nc.flush();
      });
      // A failed publish must not wedge the queue for the next one; its caller sees the error.
      tail = done.catch(() => {});
      return done;
    },
  };
}
