import { decideRoute, NO_HEALTHY_UPSTREAM, pickEndpoint } from "../engine/index.ts";
import { requestFacts } from "./request-facts.ts";
import { flaggedResponse, ROUTE_HEADER } from "./response-flags.ts";
import { forwardToEndpoint, type UpstreamDeps } from "./upstream.ts";
import type { RoutingView } from "./view-cache.ts";

/** Runtime pieces the request path needs, passed in (workerd globals in production). */
export interface RouteDeps extends UpstreamDeps {
  random: () => number;
}

/**
 * Routes one request with the engine: decide the route, pick an endpoint, forward. Every answer the
 * edge makes itself carries `x-jibe-response-flags` (see `response-flags.ts`). Without a snapshot
 * (policy not synced yet) it fails closed: 503 `NR`.
 *
 * @example
 * ```ts
 * const response = await routeRequest(request, view, { fetch, random: Math.random, newRequestId });
 * ```
 */
export async function routeRequest(
  request: Request,
  view: RoutingView | undefined,
  deps: RouteDeps,
): Promise<Response> {
  if (!view) {
    const response = flaggedResponse(503, "NR", "edge has no policy snapshot yet; see /__jibe/status");
    response.headers.set("retry-after", "1");
    return response;
  }
  const url = new URL(request.url);
  const facts = requestFacts(request, url);
  const decision = decideRoute(view.table, facts, deps.random);
  switch (decision.kind) {
    case "noRoute":
      return flaggedResponse(404, "NR", `no route for ${facts.authority}${url.pathname}: ${decision.reason}`);
    case "direct":
      // The engine answers a destination whose cluster is missing from the snapshot this way.
      if (decision.status === 503 && decision.body === NO_HEALTHY_UPSTREAM) {
        return flaggedResponse(503, "UH", NO_HEALTHY_UPSTREAM, decision.route.origin);
      }
      return directResponse(decision.status, decision.body, decision.route.origin);
    case "forward": {
      const endpoint = pickEndpoint(decision.cluster, view.loadBalancer, deps.random);
      if (!endpoint) {
        return flaggedResponse(
          503,
          "UH",
          `no endpoint in cluster ${decision.cluster.name}`,
          decision.route.origin,
        );
      }
      try {
        return await forwardToEndpoint(
          { request, url, endpoint, routeOrigin: decision.route.origin, timeoutMs: decision.timeoutMs },
          deps,
        );
      } finally {
        // Released once response headers are in (or the attempt failed): LEAST_REQUEST counts
        // requests awaiting an answer in this isolate, not streaming bodies.
        view.loadBalancer.release(decision.cluster, endpoint);
      }
    }
    default: {
      const unknown: never = decision;
      throw new Error(`unhandled route decision ${JSON.stringify(unknown)}`);
    }
  }
}

function directResponse(status: number, body: string | undefined, routeOrigin: string): Response {
  // 204/205/304 (and 1xx) responses cannot carry a body.
  const bodyless = status < 200 || status === 204 || status === 205 || status === 304;
  return new Response(bodyless ? null : (body ?? ""), { status, headers: { [ROUTE_HEADER]: routeOrigin } });
}
