import type { NatsConnection } from "@nats-io/nats-core";
import { emptyRejectCounts, openEvent, type RejectReason, type Verifier } from "./envelope.ts";
import type { MeshEvent, MeshEventType } from "./events.ts";
import { type Logger, silentLogger } from "./logger.ts";
import { createReplayGuard, type ReplayGuard } from "./replay-guard.ts";
import { subjectFor, subscriptionSubject } from "./subjects.ts";

/**
 * The SDK for anything that watches the mesh (outside tools, `jibe watch`, the SSE stream, and
 * `policy-sync` underneath): subscribes to mesh events and hands over only verified, well-formed,
 * fresh, first-seen events, in arrival order. Everything else is counted by reason and reported
 * to `onReject`. Needs only a `NatsConnection` and a verifier, so it runs in workerd too.
 *
 * @example
 * ```ts
 * const sub = subscribeEvents(nc, verifier, {
 *   filter: { kind: "VirtualService" },
 *   onEvent(event, meta) { console.log(event.type, event.ref.name, event.revision, meta.kid); },
 *   onReject(reason, detail, subject) { console.warn(`dropped ${subject}: ${reason} (${detail})`); },
 * });
 * // ... later
 * sub.stop();
 * ```
 */
export interface EventFilter {
  type?: MeshEventType;
  kind?: string;
  namespace?: string;
}

export interface EventMeta {
  subject: string;
  kid: string;
  id: string;
  iat: number;
}

export interface SubscriberStats {
  received: number;
  accepted: number;
  rejected: Record<RejectReason, number>;
}

export interface SubscribeEventsOptions {
  filter?: EventFilter;
  onEvent(event: MeshEvent, meta: EventMeta): void;
  onReject?(reason: RejectReason, detail: string, subject: string): void;
  /** Replay/expiry window; default `createReplayGuard({ clock })`. */
  guard?: ReplayGuard;
  clock?: () => number;
  log?: Logger;
}

export interface EventSubscription {
  stop(): void;
  /** Live counters. */
  readonly stats: SubscriberStats;
  /** Resolves when the subscription has ended (stopped, or the connection closed). */
  readonly closed: Promise<void>;
}

export function subscribeEvents(
  nc: NatsConnection,
  verifier: Verifier,
  opts: SubscribeEventsOptions,
): EventSubscription {
  const log = opts.log ?? silentLogger;
  const guard = opts.guard ?? createReplayGuard({ clock: opts.clock ?? Date.now });
  const stats: SubscriberStats = { received: 0, accepted: 0, rejected: emptyRejectCounts() };
  const sub = nc.subscribe(subscriptionSubject(opts.filter));

  const rejectWith = (reason: RejectReason, detail: string, subject: string) => {
    stats.rejected[reason]++;
    log.warn(`rejected event on ${subject}: ${reason}: ${detail}`);
    opts.onReject?.(reason, detail, subject);
  };

  // One message at a time: verification is async, and handing events over out of order would
  // make a proxy see revision gaps that are not there.
  const closed = (async () => {
    try {
      for await (const msg of sub) {
        stats.received++;
        try {
          await handle(msg.subject, msg.string());
        } catch (err) {
          log.error(`event handler failed for ${msg.subject}:`, err);
        }
      }
    } catch (err) {
      log.error("event subscription ended with an error:", err);
    }
  })();

  async function handle(subject: string, text: string): Promise<void> {
    const opened = await openEvent(verifier, text);
    if (!opened.ok) return rejectWith(opened.reason, opened.detail, subject);
    const expected = subjectFor(opened.event);
    if (expected !== subject) {
      return rejectWith("malformed", `event for ${expected} published on another subject`, subject);
    }
    const replay = guard.check(opened.id, opened.iat);
    if (replay) return rejectWith(replay, `envelope ${opened.id} with iat ${opened.iat}`, subject);
    stats.accepted++;
    opts.onEvent(opened.event, { subject, kid: opened.kid, id: opened.id, iat: opened.iat });
  }

  return {
    stop: () => sub.unsubscribe(),
    stats,
    closed,
  };
}
