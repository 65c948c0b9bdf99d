import type { Logger } from "../../broker/logger.ts";

/**
 * A level-triggered work queue, as client-go controllers use: informer events only name what changed
 * (a key); one worker reconciles each key against the current cache state. A key queued several times
 * before it runs runs once; a key that fails is retried after `retryDelayMs` (doubling up to 30 s).
 *
 * @example
 * ```ts
 * const queue = createWorkQueue((key) => reconcile(key), { retryDelayMs: 1000, log });
 * informer.on("update", (obj) => queue.add(keyOf(obj)));
 * await queue.idle();
 * ```
 */
export interface WorkQueue {
  add(key: string): void;
  /** Resolves once nothing is queued, running or waiting for a retry. */
  idle(): Promise<void>;
  /** Drops queued keys and pending retries. */
  stop(): void;
  readonly retries: number;
}

export function createWorkQueue(
  reconcile: (key: string) => Promise<void>,
  opts: { retryDelayMs: number; log: Logger },
): WorkQueue {
  const queued = new Set<string>();
  const failures = new Map<string, number>();
  const timers = new Set<ReturnType<typeof setTimeout>>();
  let running = false;
  let stopped = false;
  let retries = 0;
  let waiters: (() => void)[] = [];

  function settleIfIdle(): void {
    if (running || queued.size > 0 || timers.size > 0) return;
    const done = waiters;
    waiters = [];
    for (const resolve of done) resolve();
  }

  async function drain(): Promise<void> {
    if (running) return;
    running = true;
    try {
      for (let key = first(queued); key !== undefined && !stopped; key = first(queued)) {
        queued.delete(key);
        try {
          await reconcile(key);
          failures.delete(key);
        } catch (error) {
          const attempt = (failures.get(key) ?? 0) + 1;
          failures.set(key, attempt);
          retries += 1;
          const delay = Math.min(opts.retryDelayMs * 2 ** (attempt - 1), 30_000);
          opts.log.warn(
            `k8s adapter: ${key} failed (attempt ${attempt}, retry in ${delay} ms): ${String(error)}`,
          );
          const timer = setTimeout(() => {
            timers.delete(timer);
            add(key);
          }, delay);
          timers.add(timer);
        }
      }
    } finally {
      running = false;
      settleIfIdle();
    }
  }

  function add(key: string): void {
    if (stopped) return;
    queued.add(key);
    void drain();
  }

  return {
    add,
    idle() {
      return new Promise((resolve) => {
        waiters.push(resolve);
        settleIfIdle();
      });
    },
    stop() {
      stopped = true;
      queued.clear();
      for (const timer of timers) clearTimeout(timer);
      timers.clear();
      settleIfIdle();
    },
    get retries() {
      return retries;
    },
  };
}

function first(set: Set<string>): string | undefined {
  for (const value of set) return value;
  return undefined;
}
