import type { AttributeSource, TelemetryAttribute } from "../../control/model/telemetry-expression.ts";
import type { DestinationService } from "./destination-service.ts";
import type { TraceContext } from "./trace-context.ts";
import type { WorkloadMetadata } from "./workload-metadata.ts";

/** Which proxy reports: the client-side one (`source`, outbound) or the server-side one (`destination`, inbound). */
export type Reporter = "source" | "destination";

/**
 * Everything known about one completed request at one proxy: the single input to metrics, spans
 * and access logs, so all three agree.
 */
export interface RequestRecord {
  reporter: Reporter;
  /** This proxy's workload. */
  self: WorkloadMetadata;
  /** The other side's workload, from the peer header; undefined when the peer is outside the mesh. */
  peer?: WorkloadMetadata;
  /** SPIFFE principals, when an authenticated identity is known (mTLS); else `unknown`. */
  selfPrincipal?: string;
  peerPrincipal?: string;
  /** `mutual_tls` or `none` at the destination, `unknown` at the source (as Istio reports). */
  connectionSecurityPolicy: "mutual_tls" | "none" | "unknown";
  destinationService: DestinationService;
  /** Start, epoch ms. */
  startMs: number;
  durationMs: number;
  method: string;
  /** Origin-form target, `/path?query`. */
  path: string;
  authority: string;
  scheme: "http" | "https";
  /** `http` or `grpc` (content-type application/grpc). */
  requestProtocol: "http" | "grpc";
  /** Lower-case request headers as received. */
  requestHeaders: Readonly<Record<string, string | undefined>>;
  /** 0 when no response was sent. */
  responseCode: number;
  /** Envoy flag letters, `-` when none. */
  responseFlags: string;
  /** Why the proxy answered as it did (Envoy `%RESPONSE_CODE_DETAILS%`), when it decided. */
  responseCodeDetails?: string;
  /** `grpc-status` of a gRPC response; empty otherwise. */
  grpcStatus: string;
  /** gRPC messages each way (`istio_request_messages_total` / `istio_response_messages_total`); gRPC only. */
  grpcMessages?: { request: number; response: number };
  requestBytes: number;
  responseBytes: number;
  upstreamCluster?: string;
  upstreamHost?: string;
  /**
   * Port of the Service the request addressed: outbound, the routed cluster's; inbound, the port of
   * the Service whose endpoint this listener is (not the caller's Host port).
   */
  servicePort?: number;
  routeName?: string;
  downstreamRemoteAddress?: string;
  downstreamLocalAddress?: string;
  requestId?: string;
  trace?: TraceContext;
}

/**
 * The attributes telemetry expressions (tag overrides, access-log filters) read from a record.
 *
 * @example
 * ```ts
 * evaluateValue(parsed, recordAttributes(record)); // e.g. "reviews:9080" for request.host
 * ```
 */
export function recordAttributes(record: RequestRecord): AttributeSource {
  return {
    attribute(name: TelemetryAttribute) {
      switch (name) {
        case "request.host":
          return record.authority;
        case "request.method":
          return record.method;
        case "request.path":
          return record.path;
        case "request.url_path":
          return record.path.split("?")[0];
        case "request.scheme":
          return record.scheme;
        case "request.protocol":
          return record.requestProtocol;
        case "request.id":
          return record.requestId;
        case "response.code":
          return record.responseCode;
        case "response.flags":
          return record.responseFlags;
        case "destination.port":
          return record.upstreamHost?.split(":").pop();
        case "upstream.cluster":
          return record.upstreamCluster;
        default: {
          const unknown: never = name;
          throw new Error(`unhandled attribute ${String(unknown)}`);
        }
      }
    },
    header: (name) => record.requestHeaders[name],
  };
}
