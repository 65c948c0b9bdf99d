import { type KV, Kvm } from "@nats-io/kv";
import type { NatsConnection } from "@nats-io/nats-core";
import type { Signer, Verifier } from "../broker/envelope.ts";
import { type Logger, silentLogger } from "../broker/logger.ts";
import { IDENTITY_BUCKET, TRUST_BUNDLE_KEY } from "./subjects.ts";
import { openTrustBundle, signTrustBundle, type TrustBundle } from "./trust-bundle.ts";

/**
 * The trust bundle on the bus: the CA writes it (signed) to JetStream KV bucket `jibe-identity`,
 * key `trust-bundle`; proxies watch that key, so they get the current roots at start and every
 * change live (and after a reconnect, the KV watcher resumes). Values that do not verify are
 * dropped and reported; the last good bundle stays in force. nats-core + kv only (workerd too).
 *
 * @example
 * ```ts
 * await publishTrustBundle(nc, signer, { trustDomain: "cluster.local", rootsPem: ca.rootsPem });
 * const watch = await watchTrustBundle(nc, verifier, { onBundle: (bundle) => client.setRoots(bundle.rootsPem) });
 * ```
 */
async function openBucket(nc: NatsConnection, bucket: string): Promise<KV> {
  return new Kvm(nc).create(bucket, { history: 5 });
}

/** Signs and stores the bundle; returns its KV revision. */
export async function publishTrustBundle(
  nc: NatsConnection,
  signer: Signer,
  bundle: TrustBundle,
  opts: { bucket?: string; clock?: () => number } = {},
): Promise<number> {
  const kv = await openBucket(nc, opts.bucket ?? IDENTITY_BUCKET);
  return kv.put(TRUST_BUNDLE_KEY, await signTrustBundle(signer, bundle, (opts.clock ?? Date.now)()));
}

export interface TrustBundleWatch {
  /** The last verified bundle, if any arrived yet. */
  readonly current: TrustBundle | undefined;
  readonly rejected: number;
  stop(): void;
}

export async function watchTrustBundle(
  nc: NatsConnection,
  verifier: Verifier,
  opts: { onBundle(bundle: TrustBundle, revision: number): void; bucket?: string; log?: Logger },
): Promise<TrustBundleWatch> {
  const log = opts.log ?? silentLogger;
  const kv = await openBucket(nc, opts.bucket ?? IDENTITY_BUCKET);
  const watcher = await kv.watch({ key: TRUST_BUNDLE_KEY });
  let current: TrustBundle | undefined;
  let rejected = 0;
  let lastRevision = 0;
  void (async () => {
    for await (const entry of watcher) {
      if (entry.operation !== "PUT" || entry.revision <= lastRevision) continue;
      const opened = await openTrustBundle(verifier, entry.string());
      if (!opened.ok) {
        rejected++;
        log.warn(`identity: dropped trust bundle revision ${entry.revision}: ${opened.message}`);
        continue;
      }
      lastRevision = entry.revision;
      current = opened.bundle;
      try {
        opts.onBundle(opened.bundle, entry.revision);
      } catch (err) {
        log.error("identity: onBundle threw:", err);
      }
    }
  })();
  return {
    get current() {
      return current;
    },
    get rejected() {
      return rejected;
    },
    stop: () => watcher.stop(),
  };
}
