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
export type { IstioDestination, IstioStringMatch } from "./istio-fields.ts";
export {
  isSupportedKind,
  KIND_API_VERSIONS,
  KNOWN_UNSUPPORTED_KINDS,
  resolveKind,
  SUPPORTED_KINDS,
  type SupportedKind,
} from "./kinds.ts";
export { isDns1123Label, isDns1123Subdomain, suggestDnsName, wildcardDomainProblem } from "./names.ts";
export { parseDocuments } from "./parse.ts";
export { compileRe2, type Re2CompileResult } from "./re2-regex.ts";
export { DEFAULT_NAMESPACE } from "./resource.ts";
export { type ServicePort, type ServiceSpec, serviceSpecSchema } from "./service.ts";
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
