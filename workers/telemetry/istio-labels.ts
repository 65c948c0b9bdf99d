import type { Reporter, RequestRecord } from "./request-record.ts";
import { UNKNOWN, type WorkloadMetadata } from "./workload-metadata.ts";

/** Istio's standard labels on every HTTP metric, in Istio's order. */
export const ISTIO_LABEL_NAMES = [
  "reporter",
  "source_workload",
  "source_workload_namespace",
  "source_principal",
  "source_app",
  "source_version",
  "source_canonical_service",
  "source_canonical_revision",
  "source_cluster",
  "destination_workload",
  "destination_workload_namespace",
  "destination_principal",
  "destination_app",
  "destination_version",
  "destination_service",
  "destination_service_name",
  "destination_service_namespace",
  "destination_canonical_service",
  "destination_canonical_revision",
  "destination_cluster",
  "request_protocol",
  "response_code",
  "grpc_response_status",
  "response_flags",
  "connection_security_policy",
] as const;

/** One of {@link ISTIO_LABEL_NAMES}. */
export type IstioLabelName = (typeof ISTIO_LABEL_NAMES)[number];

/** The labels naming one end of a call (`source_*` or `destination_*`, but `destination_service*`). */
type EndLabel =
  | "workload"
  | "workload_namespace"
  | "principal"
  | "app"
  | "version"
  | "canonical_service"
  | "canonical_revision"
  | "cluster";
export type WorkloadLabelName = `source_${EndLabel}` | `destination_${EndLabel}`;

/** What the reporting proxy knows of both ends of a request or connection. */
export interface CallEnds {
  reporter: Reporter;
  self: WorkloadMetadata;
  /** The other side's workload (peer metadata); undefined when unknown. */
  peer?: WorkloadMetadata;
  /** SPIFFE IDs when the call was mutual TLS. */
  selfPrincipal?: string;
  peerPrincipal?: string;
}

/**
 * The `source_*` / `destination_*` workload labels of a call, seen from the reporter: its own side
 * from its identity, the other from peer metadata; what is not known is `unknown`. Shared by the
 * HTTP ({@link istioLabels}) and TCP (`tcpLabels`) metrics.
 *
 * @example
 * ```ts
 * workloadLabels({ reporter: "destination", self, peer }).source_workload; // "productpage-v1"
 * ```
 */
export function workloadLabels(ends: CallEnds): Record<WorkloadLabelName, string> {
  const outbound = ends.reporter === "source";
  const [source, destination] = outbound ? [ends.self, ends.peer] : [ends.peer, ends.self];
  const [sourcePrincipal, destinationPrincipal] = outbound
    ? [ends.selfPrincipal, ends.peerPrincipal]
    : [ends.peerPrincipal, ends.selfPrincipal];
  return {
    source_workload: source?.workload ?? UNKNOWN,
    source_workload_namespace: source?.namespace ?? UNKNOWN,
    source_principal: sourcePrincipal ?? UNKNOWN,
    source_app: source?.app ?? UNKNOWN,
    source_version: source?.version ?? UNKNOWN,
    source_canonical_service: source?.canonicalService ?? UNKNOWN,
    source_canonical_revision: source?.canonicalRevision ?? UNKNOWN,
    source_cluster: source?.cluster ?? UNKNOWN,
    destination_workload: destination?.workload ?? UNKNOWN,
    destination_workload_namespace: destination?.namespace ?? UNKNOWN,
    destination_principal: destinationPrincipal ?? UNKNOWN,
    destination_app: destination?.app ?? UNKNOWN,
    destination_version: destination?.version ?? UNKNOWN,
    destination_canonical_service: destination?.canonicalService ?? UNKNOWN,
    destination_canonical_revision: destination?.canonicalRevision ?? UNKNOWN,
    destination_cluster: destination?.cluster ?? UNKNOWN,
  };
}

/**
 * The standard Istio labels of a completed request. The reporting proxy fills its own side from
 * its identity and the other side from the peer header; a peer outside the mesh is `unknown`.
 *
 * @example
 * ```ts
 * istioLabels(record).destination_workload; // "reviews-v1"
 * ```
 */
export function istioLabels(record: RequestRecord): Record<IstioLabelName, string> {
  const ends = workloadLabels(record);
  // Written out in Istio's order (ISTIO_LABEL_NAMES): built once per request, so no reordering copy.
  return {
    reporter: record.reporter,
    source_workload: ends.source_workload,
    source_workload_namespace: ends.source_workload_namespace,
    source_principal: ends.source_principal,
    source_app: ends.source_app,
    source_version: ends.source_version,
    source_canonical_service: ends.source_canonical_service,
    source_canonical_revision: ends.source_canonical_revision,
    source_cluster: ends.source_cluster,
    destination_workload: ends.destination_workload,
    destination_workload_namespace: ends.destination_workload_namespace,
    destination_principal: ends.destination_principal,
    destination_app: ends.destination_app,
    destination_version: ends.destination_version,
    destination_service: record.destinationService.host,
    destination_service_name: record.destinationService.name,
    destination_service_namespace: record.destinationService.namespace,
    destination_canonical_service: ends.destination_canonical_service,
    destination_canonical_revision: ends.destination_canonical_revision,
    destination_cluster: ends.destination_cluster,
    request_protocol: record.requestProtocol,
    response_code: String(record.responseCode),
    grpc_response_status: record.grpcStatus,
    response_flags: record.responseFlags,
    connection_security_policy: record.connectionSecurityPolicy,
  };
}
