import type { Layer, ProxyAbort } from "./proxy-context.ts";

/**
 * Aborts the request (`DC`) when the client goes away before its response completed, so the upstream
 * request is cancelled instead of running to completion for nobody.
 *
 * @example
 * ```ts
 * compose([abortOnDownstreamClose()], forward);
 * ```
 */
export function abortOnDownstreamClose(): Layer {
  return (next) => (ctx) => {
    ctx.res.once("close", () => {
      if (ctx.res.writableFinished || ctx.abort.signal.aborted) return;
      ctx.flag ??= "DC";
      const reason: ProxyAbort = { flag: "DC", message: "downstream connection closed" };
      ctx.abort.abort(reason);
    });
    return next(ctx);
  };
}
