import { respondLocally } from "./local-response.ts";
import { ANSWERED, type Layer } from "./proxy-context.ts";

/**
 * Answers what the route decided without an upstream: a `redirect` (its status, `Location`, no
 * body), a `directResponse`, and the fail-closed 503 `NC` of a destination whose cluster is not in
 * the config. Forwarded requests go on.
 *
 * @example
 * ```ts
 * compose([routeRequest(deps), applyCorsPolicy(), injectFaults(random), answerWithoutUpstream()], forward);
 * ```
 */
export function answerWithoutUpstream(): Layer {
  return (next) => (ctx) => {
    const decision = ctx.decision;
    if (!decision)
      throw new Error("answerWithoutUpstream needs a route decision; put routeRequest() before it");
    switch (decision.kind) {
      case "forward":
        return next(ctx);
      case "redirect":
        respondLocally(ctx, decision.status, undefined, "", { location: decision.location });
        return ANSWERED;
      case "direct":
        respondLocally(ctx, decision.status, decision.flag, decision.body ?? "");
        return ANSWERED;
      default: {
        const unknown: never = decision;
        throw new Error(`unhandled route decision ${JSON.stringify(unknown)}`);
      }
    }
  };
}
