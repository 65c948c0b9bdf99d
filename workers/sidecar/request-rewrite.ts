import { rewriteRequest } from "../engine/index.ts";
import type { Layer } from "./proxy-context.ts";

/**
 * Applies the route's `rewrite` to what is sent upstream: the path (the matched prefix, the whole
 * path, or a regex substitution; the query string kept) and the Host header. `ctx.authority`
 * keeps what the client asked for.
 *
 * @example
 * ```ts
 * compose([routeRequest(deps), answerWithoutUpstream(), rewriteUpstreamTarget()], forward);
 * ```
 */
export function rewriteUpstreamTarget(): Layer {
  return (next) => (ctx) => {
    const action = ctx.route?.action;
    if (action?.kind === "route" && action.rewrite) {
      const host = ctx.upstreamHeaders.host;
      const target = rewriteRequest(
        { path: ctx.path, authority: typeof host === "string" ? host : ctx.authority },
        action.rewrite,
      );
      ctx.path = target.path;
      ctx.upstreamHeaders.host = target.authority;
    }
    return next(ctx);
  };
}
