import type { Layer, ProxyAbort } from "./proxy-context.ts";

/**
 * Enforces the route's `timeoutMs` (Istio `timeout`) over the whole exchange: the request is aborted
 * with `UT` when it fires; the forwarder answers 504, or resets the response if it had started.
 * Routes without a timeout wait indefinitely, as in Istio.
 *
 * @example
 * ```ts
 * compose([routeRequest(deps), applyRouteTimeout()], forward);
 * ```
 */
export function applyRouteTimeout(): Layer {
  return (next) => (ctx) => {
    const ms = ctx.timeoutMs;
    if (ms !== undefined && ms > 0) {
      const timer = setTimeout(() => {
        const reason: ProxyAbort = { flag: "UT", message: `upstream request timeout after ${ms} ms` };
        ctx.abort.abort(reason);
      }, ms);
      ctx.res.once("close", () => clearTimeout(timer));
    }
    return next(ctx);
  };
}
