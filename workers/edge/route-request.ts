import { decideRoute, type RouteDecision } from "../engine/index.ts";
import { flaggedResponse } from "./flagged-response.ts";
import { requestFacts } from "./request-facts.ts";
import { type ServeDeps, serveRoute } from "./serve-route.ts";
import type { RoutingView } from "./view-cache.ts";

/** Runtime pieces the request path needs, passed in (workerd globals in production). */
export interface RouteDeps extends ServeDeps {
  /** Told the engine's decision (telemetry labels the routed service with it). */
  onDecision?: (decision: RouteDecision) => void;
}

/**
 * Routes one request with the engine: decide the route, then serve it (`serve-route.ts`: CORS,
 * faults, redirects and direct responses, rewrites, headers, mirrors, retries). Every answer the
 * edge makes itself carries `x-jibe-response-flags` (letters from `workers/engine/response-flags.ts`).
 * Without a snapshot (policy not synced yet) it fails closed: 503 `NR`.
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
  deps.onDecision?.(decision);
  if (decision.kind === "noRoute") {
    return flaggedResponse(404, "NR", `no route for ${facts.authority}${url.pathname}: ${decision.reason}`);
  }
  return serveRoute(request, url, facts, decision, view, deps);
}
