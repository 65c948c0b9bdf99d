import type { NatsConnection } from "@nats-io/nats-core";
import { openConfigStore } from "./config-store.ts";
import { emptyRejectCounts, type RejectReason, type Verifier } from "./envelope.ts";
import { BrokerError } from "./errors.ts";
import { type EventSubscription, subscribeEvents } from "./event-subscriber.ts";
import { formatRef, type MeshEvent, type StoredResource } from "./events.ts";
import { type Logger, silentLogger } from "./logger.ts";
import { resourceKey } from "./subjects.ts";
import { verifySnapshot } from "./verified-snapshot.ts";

/**
 * The one client every proxy (Node sidecar, edge worker) uses to follow mesh policy.
 *
 * It subscribes to `jibe.v1.>` first (buffering), then loads the whole config store (verifying
 * every value), then applies the buffered and live events in order. It tracks each key's
 * revision and the highest revision: an event at or below its key's revision is stale; one
 * beyond highest+1 means events were missed, so it reloads from the store (a resync), as it does
 * after every reconnect. Anything unverifiable is dropped and counted, never applied; while NATS
 * is unreachable the last-known-good state stays in force.
 *
 * Only nats-core, kv and jose underneath: works with a Node `connect` or a workerd `wsconnect`.
 *
 * @example
 * ```ts
 * const sync = await startPolicySync({
 *   nc, verifier,
 *   onChange(state) { snapshot = compiler.update(state).snapshot; }, // called once with "initial" before this resolves
 * });
 * console.log(sync.state.revision, sync.stats.rejected);
 * await sync.stop();
 * ```
 */
export interface PolicyState {
  revision: number;
  resources: ReadonlyMap<string, StoredResource>;
  changed: ReadonlySet<string>;
  reason: "initial" | "event" | "resync";
}

export interface PolicySyncStats {
  /** Events applied. */
  accepted: number;
  /** Events and store values dropped, by reason. */
  rejected: Record<RejectReason, number>;
  /** Completed reloads after the initial one (gap, reconnect, `resync()`). */
  resyncs: number;
  /** Clock time of the last accepted event off the bus. */
  lastEventAt?: number;
}

export interface PolicySync {
  readonly state: PolicyState;
  readonly stats: PolicySyncStats;
  /** Reloads from the config store; rejects if the store cannot be read (state is kept). */
  resync(): Promise<void>;
  stop(): Promise<void>;
}

export interface PolicySyncOptions {
  nc: NatsConnection;
  verifier: Verifier;
  onChange(state: PolicyState): void;
  bucket?: string;
  clock?: () => number;
  log?: Logger;
  /** First delay before retrying a failed reload (doubles up to 30 s). Default 500 ms. */
  retryMs?: number;
}

/** Events kept while a reload runs; past this the reload is simply repeated. */
const MAX_BUFFERED = 10_000;
const MAX_RETRY_MS = 30_000;

/** Starts following policy; resolves after the initial store load was applied. */
export async function startPolicySync(opts: PolicySyncOptions): Promise<PolicySync> {
  const { nc, verifier } = opts;
  const clock = opts.clock ?? Date.now;
  const log = opts.log ?? silentLogger;
  const stats: PolicySyncStats = { accepted: 0, rejected: emptyRejectCounts(), resyncs: 0 };

  // Working state, updated event by event; `state` is the last one handed to onChange.
  let resources = new Map<string, StoredResource>();
  let revisions = new Map<string, number>(); // deleted keys too: their delete-marker revision
  let highest = 0;
  let state: PolicyState = { revision: 0, resources: new Map(), changed: new Set(), reason: "initial" };
  const emittedRevisions = new Map<string, number>();

  let initialised = false;
  let stopped = false;
  let loading = true; // while true, events wait in `buffer` (a store read is under way)
  let buffer: MeshEvent[] = [];
  let reloadWanted = true;
  let looping = false;
  let loop: Promise<void> = Promise.resolve();
  let retryDelay = opts.retryMs ?? 500;
  let retryTimer: ReturnType<typeof setTimeout> | undefined;
  let disconnected = false;

  const countReject = (reason: RejectReason, detail: string) => {
    stats.rejected[reason]++;
    // Stale is mostly harmless overlap between a store read and buffered events.
    (reason === "stale" ? log.debug : log.warn)(`policy-sync dropped: ${reason}: ${detail}`);
  };

  /** Hands the working state to onChange if it differs from what was last handed over. */
  const emit = (reason: PolicyState["reason"]) => {
    const changed = new Set<string>();
    for (const key of emittedRevisions.keys()) if (!resources.has(key)) changed.add(key);
    for (const key of resources.keys()) {
      if (emittedRevisions.get(key) !== revisions.get(key)) changed.add(key);
    }
    if (reason !== "initial" && changed.size === 0 && highest === state.revision) return;
    emittedRevisions.clear();
    for (const key of resources.keys()) emittedRevisions.set(key, revisions.get(key) ?? 0);
    // A copy: consumers may keep earlier states while the working map moves on.
    state = { revision: highest, resources: new Map(resources), changed, reason };
    try {
      opts.onChange(state);
    } catch (err) {
      log.error("policy-sync onChange threw:", err);
    }
  };

  /** Applies one event to the working state; "gap" means the store must be read first. */
  const applyEvent = (event: MeshEvent): "applied" | "stale" | "gap" => {
    const key = resourceKey(event.ref);
    const known = revisions.get(key) ?? 0;
    if (event.revision <= known) {
      countReject("stale", `${formatRef(event.ref)} revision ${event.revision} <= applied ${known}`);
      return "stale";
    }
    if (event.revision > highest + 1) return "gap";
    switch (event.type) {
      case "resource.applied":
        resources.set(key, event.resource);
        break;
      case "resource.deleted":
        resources.delete(key);
        break;
      default: {
        const unknownEvent: never = event;
        throw new Error(`unhandled event ${JSON.stringify(unknownEvent)}`);
      }
    }
    revisions.set(key, event.revision);
    highest = Math.max(highest, event.revision);
    stats.accepted++;
    return "applied";
  };

  /** Applies buffered events in order; false when one reveals a gap (the rest stay buffered). */
  const drainBuffer = (): boolean => {
    const pending = buffer;
    buffer = [];
    for (const [index, event] of pending.entries()) {
      if (applyEvent(event) === "gap") {
        log.info(`policy-sync: revision ${event.revision} after ${highest}; events were missed, resyncing`);
        buffer = pending.slice(index);
        return false;
      }
    }
    return true;
  };

  const onEvent = (event: MeshEvent) => {
    if (stopped) return;
    stats.lastEventAt = clock();
    buffer.push(event);
    if (buffer.length > MAX_BUFFERED) {
      buffer = []; // the store read that is due anyway covers them
      reloadWanted = true;
    }
    if (loading) return;
    if (drainBuffer()) emit("event");
    else void requestReload().catch(() => {});
  };

  const store = await openConfigStore(nc, opts.bucket ? { bucket: opts.bucket } : {});
  const sub: EventSubscription = subscribeEvents(nc, verifier, {
    onEvent,
    onReject: (reason) => stats.rejected[reason]++, // the subscriber has logged it
    clock,
    log,
  });

  /** Replaces the working state with the store's content (verified). */
  const loadStore = async (): Promise<void> => {
    // Fail fast rather than wait out request timeouts; the reconnect triggers the next attempt.
    if (disconnected)
      throw new BrokerError("config-store-failed", "NATS is disconnected; resyncing on reconnect");
    const snapshot = await store.snapshot();
    const loaded = await verifySnapshot(snapshot, verifier, resources, revisions, countReject);
    resources = loaded.resources;
    revisions = loaded.revisions;
    highest = snapshot.revision;
  };

  const runReloads = async (): Promise<void> => {
    looping = true;
    try {
      while (!stopped) {
        if (reloadWanted) {
          reloadWanted = false;
          await loadStore();
        }
        // From here to the end of the pass nothing awaits, so no event can slip past the buffer.
        if (!drainBuffer()) reloadWanted = true;
        if (reloadWanted) continue;
        loading = false;
        break;
      }
    } catch (err) {
      reloadWanted = true;
      if (initialised && !stopped) {
        log.warn(`policy-sync: cannot read the config store; keeping revision ${state.revision}:`, err);
        if (!disconnected) scheduleRetry();
      }
      throw err;
    } finally {
      looping = false;
    }
    if (stopped) return;
    retryDelay = opts.retryMs ?? 500;
    if (initialised) stats.resyncs++;
    emit(initialised ? "resync" : "initial");
    initialised = true;
  };

  const requestReload = (): Promise<void> => {
    reloadWanted = true;
    loading = true;
    if (!looping) loop = runReloads();
    return loop;
  };

  const scheduleRetry = () => {
    if (stopped || retryTimer) return;
    retryTimer = setTimeout(() => {
      retryTimer = undefined;
      requestReload().catch(() => {});
    }, retryDelay);
    retryDelay = Math.min(retryDelay * 2, MAX_RETRY_MS);
  };

  const statuses = nc.status();
  void (async () => {
    for await (const status of statuses) {
      if (stopped) break;
      if (status.type === "disconnect") disconnected = true;
      if (status.type === "reconnect") {
        disconnected = false;
        log.info("policy-sync: reconnected, resyncing");
        requestReload().catch(() => {});
      }
    }
  })().catch((err: unknown) => log.error("policy-sync status watch failed:", err));

  const stop = async () => {
    if (stopped) return;
    stopped = true;
    if (retryTimer) clearTimeout(retryTimer);
    sub.stop();
    (statuses as Partial<{ stop(): void }>).stop?.();
    await loop.catch(() => {});
  };

  try {
    // The SUB must reach the server before the store is read, or events in between are lost.
    await nc.flush();
    await requestReload();
  } catch (err) {
    await stop();
    throw err;
  }

  return {
    get state() {
      return state;
    },
    stats,
    resync: requestReload,
    stop,
  };
}
