import type { Verifier } from "../../broker/envelope.ts";
import { openStoredResource } from "../../broker/envelope.ts";
import type { StoredResource } from "../../broker/events.ts";

/** A config-store value read back: the resource, or why it cannot be trusted. */
export type StoredValue = { ok: true; resource: StoredResource } | { ok: false; problem: string };

/**
 * Verifies and unwraps one config-store value. The control plane re-verifies what it reads because the
 * bucket is writable by anything holding NATS credentials; an untrusted value is never served as policy.
 *
 * @example
 * ```ts
 * const read = await readStoredValue(verifier, entry.value);
 * if (read.ok) console.log(read.resource.metadata.generation);
 * ```
 */
export async function readStoredValue(verifier: Verifier, jws: string): Promise<StoredValue> {
  const opened = await openStoredResource(verifier, jws);
  if (!opened.ok) return { ok: false, problem: `${opened.reason}: ${opened.detail}` };
  return { ok: true, resource: opened.resource };
}
