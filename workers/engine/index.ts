export { decideRoute, NO_HEALTHY_UPSTREAM, type RequestFacts, type RouteDecision } from "./decide-route.ts";
export { createLoadBalancerState, type LoadBalancerState, pickEndpoint } from "./load-balancer.ts";
export { type CompiledMatch, compileRouteMatch, type MatchInput } from "./request-match.ts";
export {
  authorityPort,
  buildRouteTable,
  type CompiledRoute,
  type CompiledVirtualHost,
  findVirtualHost,
  type RouteTable,
  stripPort,
} from "./route-table.ts";
export { compileStringMatch, type ValueMatcher } from "./string-match.ts";
