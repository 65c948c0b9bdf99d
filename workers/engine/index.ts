export { authorize, authorizeWithExtAuthz, type ExtAuthzAsk } from "./authorize.ts";
export {
  type AuthzCounters,
  authzCountersText,
  countDecision,
  createAuthzCounters,
  DEFAULT_DENY,
  denialDetails,
  type PolicyCounts,
} from "./authz-counters.ts";
export type {
  AuthzDecision,
  AuthzFacts,
  AuthzMatch,
  AuthzReason,
  AuthzVerdict,
  PeerIdentity,
  RequestIdentity,
} from "./authz-facts.ts";
export { type AuthzTable, buildAuthzTable, createAuthzTableCache } from "./authz-table.ts";
export { type Admission, admitRequest, type ClusterLoad, canDispatchPending } from "./connection-pool.ts";
export { type CorsRequest, type CorsVerdict, evaluateCors, isOriginAllowed } from "./cors.ts";
export {
  decideRoute,
  NO_HEALTHY_UPSTREAM,
  pickWeighted,
  type RequestFacts,
  type RouteDecision,
} from "./decide-route.ts";
export { type ConnectionFacts, decideTcpRoute, type TcpRouteDecision } from "./decide-tcp-route.ts";
export {
  buildCheckRequest,
  checkExternally,
  type ExtAuthzCheckRequest,
  type ExtAuthzCheckResponse,
  type ExtAuthzOutcome,
  type ExtAuthzTransport,
  readCheckResponse,
} from "./ext-authz.ts";
export {
  decideFault,
  FAULT_ABORT_BODY,
  type FaultAbortAnswer,
  type FaultDecision,
  faultAbortAnswer,
} from "./fault.ts";
export { encodeGrpcMessage, GRPC_STATUS, grpcStatusOfLocalReply } from "./grpc-status.ts";
export { type HashKey, type HashKeyInput, hashKeyOf } from "./hash-key.ts";
export {
  applyHeaderOperations,
  applyHeaderPolicies,
  type HeaderEditor,
  headerPoliciesFor,
  recordHeaderEditor,
} from "./header-mutation.ts";
export { createJwksCache, type JwksCache, type JwksCacheDeps, type JwksCacheStats } from "./jwks-cache.ts";
export {
  createLoadBalancerState,
  type LoadBalancerState,
  type PickRequest,
  pickEndpoint,
} from "./load-balancer.ts";
export { pickMirrors, shadowAuthority } from "./mirror.ts";
export { createOutlierDetector, type OutlierDetector, outlierStatusOf } from "./outlier-detection.ts";
export { applyRedirect, type RedirectAnswer } from "./redirect.ts";
export {
  type AuthnResult,
  type AuthnTable,
  authenticateRequest,
  buildAuthnTable,
  createAuthnTableCache,
} from "./request-authn.ts";
export { type CompiledMatch, compileRouteMatch, type MatchInput } from "./request-match.ts";
export {
  formatResponseFlags,
  NO_FLAG,
  RESPONSE_FLAGS_HEADER,
  type ResponseFlag,
  ROUTE_HEADER,
} from "./response-flags.ts";
export {
  type AttemptOutcome,
  DEFAULT_RETRY_POLICY,
  isRetriable,
  pickEndpointForRetry,
  planRetry,
  type RetryVerdict,
  retryBackoffMs,
  retryPolicyOf,
} from "./retry-plan.ts";
export { type RewrittenTarget, rewritePath, rewriteRequest } from "./rewrite.ts";
export {
  authorityPort,
  buildRouteTable,
  type CompiledRoute,
  type CompiledVirtualHost,
  findTcpVirtualHost,
  findVirtualHost,
  type RouteTable,
  stripPort,
} from "./route-table.ts";
export { compileStringMatch, type ValueMatcher } from "./string-match.ts";
