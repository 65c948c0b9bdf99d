/**
 * Runs async tasks one at a time, in submission order. The control plane pushes every write through one
 * queue so config-store revisions and published events go out in the same order.
 *
 * @example
 * ```ts
 * const queue = createSerialQueue();
 * const [a, b] = await Promise.all([queue.run(() => write(1)), queue.run(() => write(2))]); // 1 then 2
 * ```
 */
export interface SerialQueue {
  run<T>(task: () => Promise<T>): Promise<T>;
}

export function createSerialQueue(): SerialQueue {
  let tail: Promise<unknown> = Promise.resolve();
  return {
    run<T>(task: () => Promise<T>): Promise<T> {
      const result = tail.then(task);
      // A failed task must not stall the ones queued after it.
      tail = result.catch(() => undefined);
      return result;
    },
  };
}
