import type { ProxyIdentity } from "../../control/compile/snapshot.ts";
import { decideRoute, headerPoliciesFor, type RequestFacts, ROUTE_HEADER } from "../engine/index.ts";
import { joinedHeaders } from "./joined-headers.ts";
import { respondLocally } from "./local-response.ts";
import { ANSWERED, type Layer, type ProxyContext } from "./proxy-context.ts";
import type { RouteSource } from "./route-policy.ts";

/**
 * Decides where an outbound request goes with the engine, against the route table current when the
 * request arrived (a policy update mid-request does not move it). No route → 404 `NR`; otherwise
 * it records the decision (`ctx.decision`, `ctx.route`; for a forward also `ctx.cluster`,
 * `ctx.destination`, `ctx.timeoutMs`) and the route's response header policies, and the later
 * layers act on it (CORS, faults, then direct answers and redirects in `route-answer.ts`).
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
  /** The port routes match (the gateway's server port); default the authority's. */
  port?: number;
}): Layer {
  return (next) => (ctx) => {
    const { table } = deps.routes.current();
    const decision = decideRoute(table, requestFacts(ctx, deps.proxy, deps.port), deps.random);
    if (decision.kind === "noRoute") {
      respondLocally(ctx, 404, "NR", `no route to "${ctx.authority}": ${decision.reason}`);
      return ANSWERED;
    }
    ctx.decision = decision;
    ctx.route = decision.route;
    ctx.responseHeaders[ROUTE_HEADER] = decision.route.origin;
    if (decision.kind === "forward") {
      ctx.cluster = decision.cluster;
      ctx.destination = decision.destination;
      ctx.timeoutMs = decision.timeoutMs;
      ctx.clusters = table.clusters;
    }
    const policies = headerPoliciesFor(decision.route, ctx.destination);
    if (policies.length > 0) ctx.responseHeaderPolicies = policies;
    return next(ctx);
  };
}

/**
 * What the engine sees of a request: lower-case authority and headers, this proxy as the source.
 * The destination port is `port` when given (the gateway's server port), else left to the engine
 * (the authority's, else 80 / 443 by scheme).
 */
export function requestFacts(ctx: ProxyContext, proxy: ProxyIdentity, port?: number): RequestFacts {
  const joined = joinedHeaders(ctx.req.headers);
  // The engine reads the authority as `host`: the request's own header view serves unless an
  // absolute-form URI named another authority (copying every request's headers is a measurable cost).
  const headers = joined.host === ctx.authority ? joined : { ...joined, host: ctx.authority };
  const authority = ctx.authority.toLowerCase();
  return {
    authority,
    path: ctx.path,
    method: ctx.req.method ?? "GET",
    scheme: ctx.scheme,
    headers,
    sourceLabels: proxy.labels,
    sourceNamespace: proxy.namespace,
    ...(port === undefined ? {} : { port }),
  };
}
