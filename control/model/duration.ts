/**
 * Durations as Istio accepts them in YAML: Go-style strings such as `7s`, `0.5s`, `100ms`, `1m30s`,
 * `1h`. Istio requires at least 1ms and millisecond precision.
 */

const UNIT_MS: Readonly<Record<string, number>> = {
  ns: 1e-6,
  us: 1e-3,
  µs: 1e-3,
  ms: 1,
  s: 1000,
  m: 60_000,
  h: 3_600_000,
};
const DURATION = /^(\d+(?:\.\d+)?(?:ns|us|µs|ms|s|m|h))+$/;
const PART = /(\d+(?:\.\d+)?)(ns|us|µs|ms|s|m|h)/g;

/**
 * Parses a duration to milliseconds; undefined when the text is not a duration.
 *
 * @example
 * ```ts
 * parseDurationMs("1m30s"); // 90000
 * parseDurationMs("7");     // undefined (unit missing)
 * ```
 */
export function parseDurationMs(text: string): number | undefined {
  if (!DURATION.test(text)) return undefined;
  let total = 0;
  for (const [, amount, unit] of text.matchAll(PART)) total += Number(amount) * (UNIT_MS[unit ?? ""] ?? 0);
  return total;
}

/** Why a duration is invalid for Istio (format, < 1ms, sub-millisecond precision), or undefined. */
export function durationProblem(text: string): string | undefined {
  const ms = parseDurationMs(text);
  if (ms === undefined)
    return `"${text}" is not a duration; write a number with a unit, e.g. "5s", "250ms" or "1m"`;
  if (ms < 1) return `duration "${text}" is shorter than 1ms; Istio requires at least "1ms"`;
  if (Math.abs(ms - Math.round(ms)) > 1e-9)
    return `duration "${text}" is finer than 1ms; Istio supports millisecond precision only`;
  return undefined;
}
