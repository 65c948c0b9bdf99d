/** `T` without its falsy members: `waitFor(() => list.length > 2 && list)` resolves to the list. */
export type Truthy<T> = Exclude<T, false | 0 | 0n | "" | null | undefined>;

/**
 * Polls until `check` returns something truthy (and returns it), or fails after `timeoutMs` with
 * `what` in the message. For asserting on asynchronous effects (a proxy converging, a message
 * arriving) without fixed sleeps.
 *
 * @example
 * ```ts
 * await waitFor(() => sync.state.revision >= 7, { what: "sync reaches revision 7" });
 * ```
 */
export async function waitFor<T>(
  check: () => T | Promise<T>,
  opts: { timeoutMs?: number; intervalMs?: number; what?: string } = {},
): Promise<Truthy<T>> {
  const deadline = Date.now() + (opts.timeoutMs ?? 10_000);
  for (;;) {
    const value = await check();
    if (value) return value as Truthy<T>;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${opts.what ?? "a condition"}`);
    await new Promise((resolve) => setTimeout(resolve, opts.intervalMs ?? 10));
  }
}
