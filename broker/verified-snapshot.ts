import type { ConfigSnapshot } from "./config-store.ts";
import { openStoredResource, type RejectReason, type Verifier } from "./envelope.ts";
import { formatRef, type StoredResource } from "./events.ts";
import { refOf } from "./payload-shape.ts";
import { resourceKey } from "./subjects.ts";

/**
 * Turns a config-store snapshot into resources a proxy may apply: every value's signature and shape
 * are verified, and the resource must be the one its key names (a validly signed value copied to
 * another key is not policy). A value that fails is counted and the key keeps its last good
 * resource, if it had one: a tampered store must not take policy away either.
 *
 * @example
 * ```ts
 * const loaded = await verifySnapshot(await store.snapshot(), verifier, current, currentRevisions, count);
 * ```
 */
export async function verifySnapshot(
  snapshot: ConfigSnapshot,
  verifier: Verifier,
  previous: ReadonlyMap<string, StoredResource>,
  previousRevisions: ReadonlyMap<string, number>,
  countReject: (reason: RejectReason, detail: string) => void,
): Promise<{ resources: Map<string, StoredResource>; revisions: Map<string, number> }> {
  const resources = new Map<string, StoredResource>();
  const revisions = new Map<string, number>();
  for (const entry of snapshot.deleted) revisions.set(entry.key, entry.revision);
  const opened = await Promise.all(
    snapshot.entries.map((entry) => openStoredResource(verifier, entry.value)),
  );
  for (const [index, entry] of snapshot.entries.entries()) {
    const result = opened[index]!;
    if (result.ok && resourceKey(refOf(result.resource)) === entry.key) {
      resources.set(entry.key, result.resource);
      revisions.set(entry.key, entry.revision);
      continue;
    }
    const [reason, detail] = result.ok
      ? (["malformed", `holds ${formatRef(refOf(result.resource))}`] as const)
      : [result.reason, result.detail];
    countReject(reason, `store value ${entry.key}@${entry.revision}: ${detail}`);
    const lastGood = previous.get(entry.key);
    if (lastGood) {
      resources.set(entry.key, lastGood);
      revisions.set(entry.key, previousRevisions.get(entry.key) ?? 0);
    } else {
      revisions.set(entry.key, entry.revision);
    }
  }
  return { resources, revisions };
}
