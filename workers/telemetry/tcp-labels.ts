import type { AttributeSource } from "../../control/model/telemetry-expression.ts";
import type { DestinationService } from "./destination-service.ts";
import { ISTIO_LABEL_NAMES, type IstioLabelName, workloadLabels } from "./istio-labels.ts";
import type { Reporter } from "./request-record.ts";
import type { WorkloadMetadata } from "./workload-metadata.ts";

/** Istio's TCP metrics, by Prometheus name. */
export const TCP_METRIC_NAMES = {
  opened: "istio_tcp_connections_opened_total",
  closed: "istio_tcp_connections_closed_total",
  sent: "istio_tcp_sent_bytes_total",
  received: "istio_tcp_received_bytes_total",
} as const;

/** Labels of Istio's TCP metrics: the HTTP ones without `response_code` and `grpc_response_status`. */
export const TCP_LABEL_NAMES = ISTIO_LABEL_NAMES.filter(
  (name): name is TcpLabelName => name !== "response_code" && name !== "grpc_response_status",
);

/** One of {@link TCP_LABEL_NAMES}. */
export type TcpLabelName = Exclude<IstioLabelName, "response_code" | "grpc_response_status">;

/** One proxied TCP connection at one proxy: what its metric labels say. */
export interface TcpConnectionRecord {
  reporter: Reporter;
  self: WorkloadMetadata;
  /** The other side's workload when known (outbound: from the endpoint's labels). */
  peer?: WorkloadMetadata;
  /** This workload's SPIFFE ID (`spiffe://td/ns/<ns>/sa/<sa>`), as Istio's `*_principal` labels show it. */
  selfPrincipal?: string;
  /**
   * The other side's SPIFFE ID from its verified mTLS certificate. Without peer metadata its
   * namespace still labels `*_workload_namespace`, as Istio does; the workload stays `unknown`.
   */
  peerPrincipal?: string;
  connectionSecurityPolicy: "mutual_tls" | "none" | "unknown";
  destinationService: DestinationService;
  /** Envoy flags (`UF`, `UH`, …) or `-`. */
  responseFlags: string;
  /** The port connected to (outbound: the service port; inbound: the workload port). */
  destinationPort?: number;
  upstreamCluster?: string;
}

/**
 * The labels of a TCP connection's metrics (`request_protocol` is `tcp`).
 *
 * @example
 * ```ts
 * tcpLabels(record).request_protocol; // "tcp"
 * ```
 */
export function tcpLabels(record: TcpConnectionRecord): Record<TcpLabelName, string> {
  const labels = workloadLabels(record);
  // Without peer metadata the peer's SPIFFE ID still names its namespace, as in Istio.
  const peerNamespace = record.peer ? undefined : spiffeNamespace(record.peerPrincipal);
  if (peerNamespace)
    labels[record.reporter === "source" ? "destination_workload_namespace" : "source_workload_namespace"] =
      peerNamespace;
  return {
    reporter: record.reporter,
    ...labels,
    destination_service: record.destinationService.host,
    destination_service_name: record.destinationService.name,
    destination_service_namespace: record.destinationService.namespace,
    request_protocol: "tcp",
    response_flags: record.responseFlags,
    connection_security_policy: record.connectionSecurityPolicy,
  };
}

const SPIFFE_WORKLOAD = /^spiffe:\/\/[^/]+\/ns\/([^/]+)\/sa\/[^/]+$/;

function spiffeNamespace(principal: string | undefined): string | undefined {
  return principal === undefined ? undefined : SPIFFE_WORKLOAD.exec(principal)?.[1];
}

/**
 * What a Telemetry tag override's expression reads on a TCP connection: `request.protocol` (`tcp`),
 * `response.flags`, `destination.port` and `upstream.cluster` when known; HTTP attributes and
 * headers are absent (an override of them yields `unknown`).
 *
 * @example
 * ```ts
 * evaluateValue(parseValueExpression("request.protocol"), tcpAttributes(record)); // "tcp"
 * ```
 */
export function tcpAttributes(record: TcpConnectionRecord): AttributeSource {
  return {
    attribute(name) {
      switch (name) {
        case "request.protocol":
          return "tcp";
        case "response.flags":
          return record.responseFlags;
        case "destination.port":
          return record.destinationPort;
        case "upstream.cluster":
          return record.upstreamCluster;
        default:
          return undefined;
      }
    },
    header: () => undefined,
  };
}
