import { createLocalJWKSet, type JSONWebKeySet, type JWTVerifyGetKey } from "jose";

/** The I/O the cache needs, passed in (workerd and Node `fetch`, a clock for tests). */
export interface JwksCacheDeps {
  fetch: (url: string, init: { signal: AbortSignal; headers: Record<string, string> }) => Promise<Response>;
  now: () => number;
}

/** Tuning; defaults follow Envoy's remote JWKS (5 min cache) with a short retry floor. */
export interface JwksCacheOptions {
  /** Keys older than this are refreshed in the background while still used; default 5 min. */
  ttlMs?: number;
  /** Minimum time between fetch attempts of one URI (after a failure or an unknown `kid`); default 10 s. */
  retryAfterMs?: number;
  /** Fetch timeout when the rule sets none; default 5 s (Istio's `timeout` default). */
  timeoutMs?: number;
}

/** Counters, for stats. */
export interface JwksCacheStats {
  fetches: number;
  failures: number;
  /** Times stale keys were served because a refresh was pending or had failed. */
  staleServed: number;
}

/** Remote JWKS keys by URI; see {@link createJwksCache}. */
export interface JwksCache {
  /**
   * Keys for `uri`, or `undefined` when none were ever fetched and fetching fails or times out.
   * Never waits longer than the timeout; never throws.
   */
  keysFor(uri: string, timeoutMs?: number): Promise<JWTVerifyGetKey | undefined>;
  /** Asks for a re-fetch (a token named a `kid` the cached set lacks); rate-limited by `retryAfterMs`. */
  refresh(uri: string, timeoutMs?: number): Promise<JWTVerifyGetKey | undefined>;
  readonly stats: JwksCacheStats;
}

interface Entry {
  keys?: JWTVerifyGetKey;
  fetchedAt: number;
  attemptedAt: number;
  inflight?: Promise<JWTVerifyGetKey | undefined>;
}

/**
 * A JWKS cache with stale-while-revalidate: once keys are known they keep verifying tokens while
 * the endpoint is down or slow (refreshed in the background, failures retried at most every
 * `retryAfterMs`). With no keys yet, a request waits for one fetch bounded by the timeout and then
 * gets `undefined` (→ 401), never a hang; failed URIs are not re-fetched for every request.
 *
 * @example
 * ```ts
 * const jwks = createJwksCache({ fetch: (u, i) => fetch(u, i), now: Date.now });
 * const getKey = await jwks.keysFor("https://issuer.example/jwks.json", 2000);
 * ```
 */
export function createJwksCache(deps: JwksCacheDeps, options: JwksCacheOptions = {}): JwksCache {
  const ttlMs = options.ttlMs ?? 5 * 60_000;
  const retryAfterMs = options.retryAfterMs ?? 10_000;
  const defaultTimeout = options.timeoutMs ?? 5_000;
  const entries = new Map<string, Entry>();
  const stats: JwksCacheStats = { fetches: 0, failures: 0, staleServed: 0 };

  const start = (uri: string, entry: Entry, timeoutMs: number) => {
    entry.attemptedAt = deps.now();
    stats.fetches++;
    entry.inflight = fetchKeys(deps, uri, timeoutMs).then(
      (jwks) => {
        entry.keys = createLocalJWKSet(jwks);
        entry.fetchedAt = deps.now();
        entry.inflight = undefined;
        return entry.keys;
      },
      () => {
        stats.failures++;
        entry.inflight = undefined;
        return entry.keys;
      },
    );
    return entry.inflight;
  };
  const entryFor = (uri: string) => {
    let entry = entries.get(uri);
    if (!entry) {
      entry = { fetchedAt: 0, attemptedAt: Number.NEGATIVE_INFINITY };
      entries.set(uri, entry);
    }
    return entry;
  };
  const mayAttempt = (entry: Entry) => deps.now() - entry.attemptedAt >= retryAfterMs;

  return {
    stats,
    async keysFor(uri, timeoutMs = defaultTimeout) {
      const entry = entryFor(uri);
      if (entry.keys) {
        if (deps.now() - entry.fetchedAt >= ttlMs) {
          if (!entry.inflight && mayAttempt(entry)) void start(uri, entry, timeoutMs);
          stats.staleServed++;
        }
        return entry.keys;
      }
      if (entry.inflight) return entry.inflight;
      if (!mayAttempt(entry)) return undefined;
      return start(uri, entry, timeoutMs);
    },
    async refresh(uri, timeoutMs = defaultTimeout) {
      const entry = entryFor(uri);
      if (entry.inflight) return entry.inflight;
      if (!mayAttempt(entry)) return entry.keys;
      return start(uri, entry, timeoutMs);
    },
  };
}

async function fetchKeys(deps: JwksCacheDeps, uri: string, timeoutMs: number): Promise<JSONWebKeySet> {
  const controller = new AbortController();
  let timer: ReturnType<typeof setTimeout> | undefined;
  // The race guarantees the bound even if a fetch implementation ignores the abort signal.
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => {
      controller.abort();
      reject(new Error(`JWKS fetch from ${uri} timed out after ${timeoutMs} ms`));
    }, timeoutMs);
  });
  try {
    const response = await Promise.race([
      deps.fetch(uri, { signal: controller.signal, headers: { accept: "application/json" } }),
      timeout,
    ]);
    if (!response.ok) throw new Error(`JWKS fetch from ${uri} answered ${response.status}`);
    const body = (await Promise.race([response.json(), timeout])) as { keys?: unknown };
    if (!Array.isArray(body?.keys)) throw new Error(`JWKS from ${uri} has no "keys" list`);
    return body as JSONWebKeySet;
  } finally {
    clearTimeout(timer);
  }
}
