import type { RejectReason } from "./envelope.ts";

/**
 * Drops replayed and out-of-window envelopes. An envelope is accepted once per `id`, and only
 * while its `iat` is within `maxAgeMs` in the past and `maxSkewMs` in the future. Ids are
 * forgotten once their `iat` leaves the window (anything that old is rejected as expired anyway),
 * so memory is bounded by the traffic of one window. Pure: time comes from `clock`.
 *
 * Check only envelopes whose signature already verified: otherwise anyone could pre-register the
 * ids of real events and get them dropped as replays.
 *
 * @example
 * ```ts
 * const guard = createReplayGuard({ clock: Date.now });
 * guard.check(opened.id, opened.iat); // undefined → accept; "replayed" | "expired" → drop
 * ```
 */
export interface ReplayGuard {
  /** `undefined` when the envelope is fresh (and records it), else why to drop it. */
  check(id: string, iat: number): RejectReason | undefined;
  /** Number of ids currently remembered. */
  readonly size: number;
}

export interface ReplayGuardOptions {
  /** Oldest accepted `iat`, relative to now. Default 5 minutes. */
  maxAgeMs?: number;
  /** How far in the future an `iat` may be (clock skew). Default 30 seconds. */
  maxSkewMs?: number;
  /** Milliseconds since the epoch. Default `Date.now`. */
  clock?: () => number;
}

export function createReplayGuard(opts: ReplayGuardOptions = {}): ReplayGuard {
  const maxAgeMs = opts.maxAgeMs ?? 300_000;
  const maxSkewMs = opts.maxSkewMs ?? 30_000;
  const clock = opts.clock ?? Date.now;
  // id → iat, in arrival order; arrival order is close to iat order, so pruning from the front
  // usually suffices, and a full sweep whenever the map doubles catches out-of-order stragglers.
  const seen = new Map<string, number>();
  let sweepAt = 1024;

  function forgetOlderThan(cutoff: number): void {
    for (const [id, iat] of seen) {
      if (iat >= cutoff) break;
      seen.delete(id);
    }
    if (seen.size < sweepAt) return;
    for (const [id, iat] of seen) if (iat < cutoff) seen.delete(id);
    sweepAt = Math.max(1024, seen.size * 2);
  }

  return {
    check(id, iat) {
      const now = clock();
      const cutoff = now - maxAgeMs;
      forgetOlderThan(cutoff);
      if (iat < cutoff || iat > now + maxSkewMs) return "expired";
      if (seen.has(id)) return "replayed";
      seen.set(id, iat);
      return undefined;
    },
    get size() {
      return seen.size;
    },
  };
}
