import { NO_FLAG } from "../engine/index.ts";
import { type Layer, responseFlagsOf } from "./proxy-context.ts";

/** Request counters of one listener. */
export interface ListenerStats {
  /** Requests received. */
  requests: number;
  /** Requests whose response has not completed yet. */
  inFlight: number;
  /** Completed requests by response flag (`-` = the proxy did not flag it). */
  byFlag: Record<string, number>;
  /** Completed requests by status class (`2xx`, `5xx`, ...; `0xx` = no status was sent). */
  byStatusClass: Record<string, number>;
}

/** Zeroed counters. */
export function createListenerStats(): ListenerStats {
  return { requests: 0, inFlight: 0, byFlag: {}, byStatusClass: {} };
}

/**
 * Counts every request and, when its response is done (finished or reset), its flag and status.
 *
 * @example
 * ```ts
 * const stats = createListenerStats();
 * compose([recordStats(stats)], forward);
 * ```
 */
export function recordStats(stats: ListenerStats): Layer {
  return (next) => (ctx) => {
    stats.requests++;
    stats.inFlight++;
    // Counted in a microtask: it runs after every other "close" listener (e.g. the one that flags
    // `DC`) has had its say, whatever order the layers registered in.
    ctx.res.once("close", () => queueMicrotask(count));
    const count = () => {
      stats.inFlight--;
      const flag = responseFlagsOf(ctx) ?? NO_FLAG;
      stats.byFlag[flag] = (stats.byFlag[flag] ?? 0) + 1;
      const statusClass = ctx.res.headersSent ? `${Math.floor(ctx.res.statusCode / 100)}xx` : "0xx";
      stats.byStatusClass[statusClass] = (stats.byStatusClass[statusClass] ?? 0) + 1;
    };
    return next(ctx);
  };
}
