import { evaluateCors } from "../engine/index.ts";
import { joinedHeaders } from "./joined-headers.ts";
import { respondLocally } from "./local-response.ts";
import { ANSWERED, type Layer } from "./proxy-context.ts";

/**
 * Applies the matched route's `corsPolicy` (Envoy's CORS filter, before faults and the router):
 * a preflight from an allowed origin is answered here with 200 and the allow headers, never
 * reaching the upstream; an unmatched preflight goes on (`FORWARD`) or gets a bare 200
 * (`IGNORE`); any other request from an allowed origin goes on and its answer carries
 * `access-control-allow-origin` (and credentials / expose headers).
 *
 * @example
 * ```ts
 * compose([routeRequest(deps), applyCorsPolicy(), injectFaults(Math.random)], forward);
 * ```
 */
export function applyCorsPolicy(): Layer {
  return (next) => (ctx) => {
    // Most routes have no CORS policy: nothing to evaluate, no header view to build.
    if (!ctx.route?.cors) return next(ctx);
    const headers = joinedHeaders(ctx.req.headers);
    const verdict = evaluateCors(ctx.route.cors, { method: ctx.req.method ?? "GET", headers });
    switch (verdict.kind) {
      case "none":
        return next(ctx);
      case "preflight":
        respondLocally(ctx, verdict.status, undefined, "", verdict.headers);
        return ANSWERED;
      case "cors":
        Object.assign(ctx.responseHeaders, verdict.responseHeaders);
        return next(ctx);
      default: {
        const unknown: never = verdict;
        throw new Error(`unhandled CORS verdict ${JSON.stringify(unknown)}`);
      }
    }
  };
}
