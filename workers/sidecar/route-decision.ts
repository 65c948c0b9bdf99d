import type { ProxyIdentity } from "../../control/compile/snapshot.ts";
import { decideRoute, type RequestFacts } from "../engine/index.ts";
import { respondLocally } from "./local-response.ts";
import type { Layer, ProxyContext } from "./proxy-context.ts";
import { ROUTE_HEADER } from "./response-flags.ts";
import type { RouteSource } from "./route-policy.ts";

/**
 * Decides where an outbound request goes with the engine, against the route table current when the
 * request arrived (a policy update mid-request does not move it). No route → 404 `NR`; a direct
 * response is answered here; a forward sets `ctx.route`, `ctx.cluster` and `ctx.timeoutMs`.
 * Every routed response carries {@link ROUTE_HEADER} naming the route that decided.
 *
 * @example
 * ```ts
 * compose([resolveTarget(), routeRequest({ routes, proxy, random: Math.random })], forward);
 * ```
 */
export function routeRequest(deps: {
  routes: RouteSource;
  proxy: ProxyIdentity;
  random: () => number;
}): Layer {
  return (next) => async (ctx) => {
    const { table } = deps.routes.current();
    const decision = decideRoute(table, requestFacts(ctx, deps.proxy), deps.random);
    switch (decision.kind) {
      case "noRoute":
        respondLocally(ctx, 404, "NR", `no route to "${ctx.authority}": ${decision.reason}`);
        return;
      case "direct":
        ctx.route = decision.route;
        ctx.responseHeaders[ROUTE_HEADER] = decision.route.origin;
        respondLocally(ctx, decision.status, undefined, decision.body ?? "");
        return;
      case "forward":
        ctx.route = decision.route;
        ctx.cluster = decision.cluster;
        ctx.timeoutMs = decision.timeoutMs;
        ctx.responseHeaders[ROUTE_HEADER] = decision.route.origin;
        return next(ctx);
      default: {
        const unknown: never = decision;
        throw new Error(`unhandled route decision ${JSON.stringify(unknown)}`);
      }
    }
  };
}

/**
 * What the engine sees of a request: lower-case authority and headers, this proxy as the source.
 * The destination port is left to the engine (the authority's, else 80).
 */
export function requestFacts(ctx: ProxyContext, proxy: ProxyIdentity): RequestFacts {
  const headers: Record<string, string | undefined> = {};
  for (const [name, value] of Object.entries(ctx.req.headers)) {
    headers[name] = Array.isArray(value) ? value.join(", ") : value;
  }
  headers.host = ctx.authority;
  const authority = ctx.authority.toLowerCase();
  return {
    authority,
    path: ctx.path,
    method: ctx.req.method ?? "GET",
    scheme: ctx.scheme,
    headers,
    sourceLabels: proxy.labels,
    sourceNamespace: proxy.namespace,
  };
}
