export {
  AUTHZ_ACTIONS,
  type AuthorizationPolicySpec,
  type AuthzAction,
  authorizationPolicySpecSchema,
  DRY_RUN_ANNOTATION,
  isDryRun,
} from "./authorization-policy.ts";
export { CONDITION_KEYS, type ConditionKey, parseConditionKey } from "./authz-condition-key.ts";
export {
  checkDestinationRule,
  type DestinationRuleSpec,
  destinationRuleSpecSchema,
  type TrafficPolicy,
} from "./destination-rule.ts";
export {
  createReporter,
  formatPath,
  hasErrors,
  MODEL_DIAGNOSTIC_CODES,
  type ModelDiagnosticCode,
  type PathSegment,
  type Reporter,
} from "./diagnostics.ts";
export { durationProblem, parseDurationMs } from "./duration.ts";
export { checkGateway, type GatewayServer, type GatewaySpec, gatewaySpecSchema } from "./gateway.ts";
export { checkGatewayReferences, DEFAULT_EDGE_GATEWAY } from "./gateway-references.ts";
export {
  checkIngress,
  INGRESS_CLASS_ANNOTATION,
  type IngressSpec,
  ingressSpecSchema,
  isJibeIngress,
  JIBE_INGRESS_CLASS,
} from "./ingress.ts";
export { type IpBlock, ipBlockContains, parseIpAddress, parseIpBlock } from "./ip-block.ts";
export type { IstioDestination, IstioStringMatch } from "./istio-fields.ts";
export {
  isSupportedKind,
  KIND_API_VERSIONS,
  KNOWN_UNSUPPORTED_KINDS,
  resolveKind,
  SUPPORTED_KINDS,
  type SupportedKind,
} from "./kinds.ts";
export {
  checkMeshConfigData,
  type EnvoyExtAuthzHttpSpec,
  type ExtensionProviderSpec,
  MESH_CONFIG_MAP,
  type MeshConfigSpec,
  readMeshConfig,
} from "./mesh-config.ts";
export { isDns1123Label, isDns1123Subdomain, suggestDnsName, wildcardDomainProblem } from "./names.ts";
export { isExportedTo, type NamespacedHost, parseNamespacedHost } from "./namespaced-host.ts";
export { parseDocuments } from "./parse.ts";
export { isPathTemplate, pathTemplateProblem, pathTemplateRegex } from "./path-template.ts";
export {
  checkPeerAuthentication,
  isNamespaceWide,
  MTLS_MODES,
  type MtlsMode,
  type PeerAuthenticationSpec,
  peerAuthenticationSpecSchema,
} from "./peer-authentication.ts";
export { ROOT_NAMESPACE } from "./policy-target.ts";
export { compileRe2, type Re2CompileResult } from "./re2-regex.ts";
export {
  type JwtRuleSpec,
  type RequestAuthenticationSpec,
  requestAuthenticationSpecSchema,
} from "./request-authentication.ts";
export { DEFAULT_NAMESPACE } from "./resource.ts";
export { type ServicePort, type ServiceSpec, serviceSpecSchema } from "./service.ts";
export {
  checkServiceEntry,
  ISTIO_PROTOCOLS,
  type ServiceEntrySpec,
  serviceEntrySpecSchema,
} from "./service-entry.ts";
export { checkSidecar, type SidecarSpec, sidecarSpecSchema } from "./sidecar.ts";
export {
  checkTelemetry,
  HISTOGRAM_METRICS,
  ISTIO_METRICS,
  type TelemetrySpec,
  telemetrySpecSchema,
  WORKLOAD_MODES,
} from "./telemetry.ts";
export {
  type AttributeSource,
  evaluateFilter,
  evaluateValue,
  type FilterExpression,
  parseFilterExpression,
  parseValueExpression,
  TELEMETRY_ATTRIBUTES,
  type TelemetryAttribute,
  type ValueExpression,
} from "./telemetry-expression.ts";
export { type ValidateResult, validateDocuments, validateResource } from "./validate.ts";
export {
  type HttpMatchRequest,
  type HttpRoute,
  type HttpRouteDestination,
  MESH_GATEWAY,
  type VirtualServiceSpec,
  virtualServiceSpecSchema,
} from "./virtual-service.ts";
export { type WorkloadEntrySpec, workloadEntrySpecSchema } from "./workload-entry.ts";
