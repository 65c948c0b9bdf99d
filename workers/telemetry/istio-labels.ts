import type { RequestRecord } from "./request-record.ts";
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
  const outbound = record.reporter === "source";
  const source = outbound ? record.self : record.peer;
  const destination = outbound ? record.peer : record.self;
  const principal = (p: string | undefined) => p ?? UNKNOWN;
  const side = (prefix: "source" | "destination", meta: WorkloadMetadata | undefined) => ({
    [`${prefix}_workload`]: meta?.workload ?? UNKNOWN,
    [`${prefix}_workload_namespace`]: meta?.namespace ?? UNKNOWN,
    [`${prefix}_app`]: meta?.app ?? UNKNOWN,
    [`${prefix}_version`]: meta?.version ?? UNKNOWN,
    [`${prefix}_canonical_service`]: meta?.canonicalService ?? UNKNOWN,
    [`${prefix}_canonical_revision`]: meta?.canonicalRevision ?? UNKNOWN,
    [`${prefix}_cluster`]: meta?.cluster ?? UNKNOWN,
  });
  const labels = {
    reporter: record.reporter,
    ...side("source", source),
    source_principal: principal(outbound ? record.selfPrincipal : record.peerPrincipal),
    ...side("destination", destination),
    destination_principal: principal(outbound ? record.peerPrincipal : record.selfPrincipal),
    destination_service: record.destinationService.host,
    destination_service_name: record.destinationService.name,
    destination_service_namespace: record.destinationService.namespace,
    request_protocol: record.requestProtocol,
    response_code: String(record.responseCode),
    grpc_response_status: record.grpcStatus,
    response_flags: record.responseFlags,
    connection_security_policy: record.connectionSecurityPolicy,
  } as Record<IstioLabelName, string>;
  const ordered = {} as Record<IstioLabelName, string>;
  for (const name of ISTIO_LABEL_NAMES) ordered[name] = labels[name];
  return ordered;
}
