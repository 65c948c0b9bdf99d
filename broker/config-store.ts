import { jetstream } from "@nats-io/jetstream";
import { type KV, type KvEntry, Kvm, KvWatchInclude } from "@nats-io/kv";
import { headers, type NatsConnection } from "@nats-io/nats-core";
import { BrokerError } from "./errors.ts";
import type { ResourceRef } from "./events.ts";
import { parseResourceKey, RESOURCE_BUCKET, resourceKey } from "./subjects.ts";

/**
 * The config store: a JetStream KV bucket (`jibe-resources`, history 10) whose values are signed
 * stored-resource envelopes, keyed `<kind>.<namespace>.<name>`. Deletes are KV delete markers.
 * The KV revision (stream sequence) of a write is the mesh revision that write's event carries.
 * Uses only nats-core + kv, so it runs in workerd too. It stores values as given: signing and
 * verifying are the caller's job (see `envelope.ts`).
 *
 * @example
 * ```ts
 * const store = await openConfigStore(nc);
 * const revision = await store.put(ref, await signStoredResource(signer, resource, Date.now()));
 * for (const entry of await store.list()) console.log(entry.key, entry.revision);
 * ```
 */
export interface StoredEntry {
  key: string;
  ref: ResourceRef;
  revision: number;
  /** The signed stored-resource JWS, unverified. */
  value: string;
}

export interface HistoryEntry {
  revision: number;
  operation: "PUT" | "DEL" | "PURGE";
  /** The signed JWS (PUT only). */
  value?: string;
  created: Date;
}

/** A key whose latest write is a delete marker (or purge). */
export interface DeletedEntry {
  key: string;
  ref: ResourceRef;
  revision: number;
}

/** Everything in the bucket as of one point: the latest write of every key, and that point's revision. */
export interface ConfigSnapshot {
  /** The bucket's last revision (0 when nothing was ever written). */
  revision: number;
  entries: StoredEntry[];
  deleted: DeletedEntry[];
}

export interface ConfigStore {
  readonly bucket: string;
  /** Writes a value; resolves to its revision. */
  put(ref: ResourceRef, signedValue: string): Promise<number>;
  /** Writes a delete marker; resolves to its revision. */
  delete(ref: ResourceRef): Promise<number>;
  get(ref: ResourceRef): Promise<StoredEntry | undefined>;
  /** The current value of every key, delete markers skipped. */
  list(): Promise<StoredEntry[]>;
  /** Every kept write of one key (at most `history`), oldest first. */
  history(ref: ResourceRef): Promise<HistoryEntry[]>;
  /** Current values, delete markers and the revision they are current as of (for resyncing proxies). */
  snapshot(): Promise<ConfigSnapshot>;
}

export interface ConfigStoreOptions {
  /** Default `jibe-resources`. */
  bucket?: string;
  /** Writes kept per key; only used when the bucket is created. Default 10. */
  history?: number;
  /** Upper bound for a snapshot read. Default 10 s. */
  timeoutMs?: number;
}

/** Opens the bucket, creating it when missing. */
export async function openConfigStore(
  nc: NatsConnection,
  opts: ConfigStoreOptions = {},
): Promise<ConfigStore> {
  const bucket = opts.bucket ?? RESOURCE_BUCKET;
  const timeoutMs = opts.timeoutMs ?? 10_000;
  const kv = await attempt(bucket, "open", () => new Kvm(nc).create(bucket, { history: opts.history ?? 10 }));
  const js = jetstream(nc);

  return {
    bucket,
    put: (ref, signedValue) =>
      attempt(bucket, `put ${resourceKey(ref)}`, () => kv.put(resourceKey(ref), signedValue)),
    delete: (ref) =>
      attempt(bucket, `delete ${resourceKey(ref)}`, async () => {
        // kv.delete() does not report the marker's sequence; publishing the marker ourselves does.
        const h = headers();
        h.set("KV-Operation", "DEL");
        const ack = await js.publish(`$KV.${bucket}.${resourceKey(ref)}`, undefined, { headers: h });
        return ack.seq;
      }),
    get: (ref) =>
      attempt(bucket, `get ${resourceKey(ref)}`, async () => {
        const entry = await kv.get(resourceKey(ref));
        return entry && entry.operation === "PUT" ? toStoredEntry(entry, ref) : undefined;
      }),
    list: async () => (await snapshotOf(kv, bucket, timeoutMs)).entries,
    history: (ref) => attempt(bucket, `history ${resourceKey(ref)}`, () => historyOf(kv, resourceKey(ref))),
    snapshot: () => snapshotOf(kv, bucket, timeoutMs),
  };
}

async function attempt<T>(bucket: string, what: string, op: () => Promise<T>): Promise<T> {
  try {
    return await op();
  } catch (err) {
    const message = err instanceof Error ? err.message : String(err);
    throw new BrokerError("config-store-failed", `config store ${bucket}: ${what} failed: ${message}`, {
      cause: err,
    });
  }
}

function toStoredEntry(entry: KvEntry, ref: ResourceRef): StoredEntry {
  return { key: entry.key, ref, revision: entry.revision, value: entry.string() };
}

async function historyOf(kv: KV, key: string): Promise<HistoryEntry[]> {
  const out: HistoryEntry[] = [];
  for await (const entry of await kv.history({ key })) {
    const item: HistoryEntry = {
      revision: entry.revision,
      operation: entry.operation,
      created: entry.created,
    };
    if (entry.operation === "PUT") item.value = entry.string();
    out.push(item);
  }
  return out.sort((a, b) => a.revision - b.revision);
}

function snapshotOf(kv: KV, bucket: string, timeoutMs: number): Promise<ConfigSnapshot> {
  return attempt(bucket, "snapshot", async () => {
    const state = (await kv.status()).streamInfo.state;
    const snapshot: ConfigSnapshot = { revision: state.last_seq, entries: [], deleted: [] };
    // An empty stream yields nothing to the watcher, not even an "end of initial values".
    if (state.messages === 0) return snapshot;
    const watcher = await kv.watch({ include: KvWatchInclude.LastValue });
    const timer = setTimeout(() => watcher.stop(), timeoutMs);
    let complete = false;
    try {
      for await (const entry of watcher) {
        snapshot.revision = Math.max(snapshot.revision, entry.revision);
        const ref = parseResourceKey(entry.key);
        if (ref && entry.operation === "PUT") snapshot.entries.push(toStoredEntry(entry, ref));
        else if (ref) snapshot.deleted.push({ key: entry.key, ref, revision: entry.revision });
        // delta = messages still pending for the watcher: 0 means it has caught up with the stream.
        if (entry.delta === 0) {
          complete = true;
          break;
        }
      }
    } finally {
      clearTimeout(timer);
      watcher.stop();
    }
    if (!complete) throw new Error(`no complete read within ${timeoutMs} ms`);
    return snapshot;
  });
}
