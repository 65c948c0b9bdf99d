export type {
  AuthzCondition,
  AuthzOperation,
  AuthzPolicy,
  AuthzRule,
  AuthzSnapshot,
  AuthzSource,
  JwtRule,
} from "./authz-snapshot.ts";
export { clusterName, DEFAULT_LOAD_BALANCER } from "./clusters.ts";
export { compile } from "./compile.ts";
export { COMPILE_DIAGNOSTIC_CODES, type CompileDiagnosticCode } from "./compile-diagnostics.ts";
export { bindGateways, type GatewayBinding, type GatewayExposure } from "./gateway-binding.ts";
export { attachGatewayServers, gatewayServersOf } from "./gateway-servers.ts";
export { canonicalJson, contentHash, fnv1a64 } from "./hash.ts";
export { resolveHost, serviceDomains, serviceFqdn } from "./host-names.ts";
export {
  type CompileInput,
  type CompilerHooks,
  createIncrementalCompiler,
  type IncrementalCompiler,
  type IncrementalResult,
} from "./incremental.ts";
export { compileInboundTls, inboundTlsMode } from "./peer-authentication.ts";
export {
  inboundListenerProtocol,
  inboundPortProtocol,
  type ListenerProtocol,
  listenerProtocolOf,
  type Protocol,
  parseProtocol,
  selectPortProtocol,
  usesHttp2Upstream,
} from "./protocol.ts";
export {
  DEFAULT_OUTBOUND_SOURCE,
  type OutboundTrafficMode,
  PASSTHROUGH_CLUSTER,
  type SidecarScope,
  selectSidecarScope,
} from "./sidecar-scope.ts";
export type {
  Cluster,
  Diagnostic,
  Endpoint,
  GatewayServerConfig,
  GatewayServerTls,
  InboundTls,
  InboundTlsMode,
  ProxyIdentity,
  Route,
  RouteAction,
  RouteMatch,
  Snapshot,
  SniRoute,
  StringMatch,
  VirtualHost,
  WeightedCluster,
} from "./snapshot.ts";
