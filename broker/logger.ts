/**
 * The logger every Jibe module takes as a dependency: the four `console` levels, nothing more,
 * so `console` itself, a test spy or a structured logger all fit.
 *
 * @example
 * ```ts
 * const log: Logger = prefixLogger(console, "policy-sync");
 * log.info("loaded", 12, "resources"); // [policy-sync] loaded 12 resources
 * ```
 */
export type Logger = Pick<Console, "debug" | "info" | "warn" | "error">;

/** A logger that drops everything (tests, library defaults). */
export const silentLogger: Logger = Object.freeze({
  debug() {},
  info() {},
  warn() {},
  error() {},
});

/** Wraps a logger so every line starts with `[prefix]`. */
export function prefixLogger(log: Logger, prefix: string): Logger {
  const tag = `[${prefix}]`;
  return {
    debug: (...args: unknown[]) => log.debug(tag, ...args),
    info: (...args: unknown[]) => log.info(tag, ...args),
    warn: (...args: unknown[]) => log.warn(tag, ...args),
    error: (...args: unknown[]) => log.error(tag, ...args),
  };
}
