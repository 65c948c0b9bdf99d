export { type AccessLogEntry, accessLogEntry } from "./access-log-entry.ts";
export {
  type DestinationService,
  type DestinationServiceInput,
  resolveDestinationService,
} from "./destination-service.ts";
export { ISTIO_LABEL_NAMES, type IstioLabelName, istioLabels } from "./istio-labels.ts";
export { type MeshTracingProviders, meshTracingProviders } from "./mesh-tracing.ts";
export {
  createMetricAggregate,
  createMetricBatcher,
  type MetricAggregate,
  type MetricBatch,
  type MetricBatcher,
  metricBatchSubject,
  type SeriesDelta,
  TELEMETRY_SUBJECT_PREFIX,
} from "./metric-batch.ts";
export {
  HTTP_METRIC_NAMES,
  type HttpMetric,
  type IstioMetric,
  type MetricPlan,
  metricLabels,
  planMetric,
  planMetrics,
} from "./metric-plan.ts";
export { decodePeerHeader, encodePeerHeader, PEER_HEADER } from "./peer-header.ts";
export { type Reporter, type RequestRecord, recordAttributes } from "./request-record.ts";
export { otlpTraceRequest, spanAttributes, spanName } from "./span-attributes.ts";
export {
  TCP_LABEL_NAMES,
  TCP_METRIC_NAMES,
  type TcpConnectionRecord,
  tcpAttributes,
  tcpLabels,
} from "./tcp-labels.ts";
export {
  type AccessLogPolicy,
  DEFAULT_ROOT_NAMESPACE,
  ENVOY_DEFAULT_BUCKETS,
  type HistogramMetric,
  type MeshTelemetryDefaults,
  type MetricOverride,
  resolveTelemetryPolicy,
  type TagOverride,
  type TelemetryPolicy,
  type TracingPolicy,
} from "./telemetry-policy.ts";
export {
  continueTrace,
  type IncomingTrace,
  readTraceHeaders,
  sampleTraceId,
  TRACE_HEADERS,
  type TraceContext,
  traceHeaders,
} from "./trace-context.ts";
export {
  DEFAULT_CLUSTER_ID,
  UNKNOWN,
  type WorkloadMetadata,
  workloadMetadataOf,
} from "./workload-metadata.ts";
