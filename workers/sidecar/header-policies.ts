import { applyHeaderPolicies, headerPoliciesFor, recordHeaderEditor } from "../engine/index.ts";
import type { Layer } from "./proxy-context.ts";

/**
 * Applies the request side of the route's and the chosen destination's `headers` policies to the
 * upstream request (destination first, the route's win). The response side was recorded by
 * `routeRequest` and is applied to whatever answer goes back, proxied or local.
 *
 * @example
 * ```ts
 * compose([routeRequest(deps), rewriteUpstreamTarget(), applyRequestHeaderPolicies()], forward);
 * ```
 */
export function applyRequestHeaderPolicies(): Layer {
  return (next) => (ctx) => {
    if (ctx.route) {
      const policies = headerPoliciesFor(ctx.route, ctx.destination);
      applyHeaderPolicies(recordHeaderEditor(ctx.upstreamHeaders), policies, "request");
    }
    return next(ctx);
  };
}
