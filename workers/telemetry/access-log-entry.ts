import type { RequestRecord } from "./request-record.ts";

/**
 * One access-log line in Envoy's (and Istio's default JSON) field names; `null` where Envoy
 * prints `-`. Field order is stable so lines diff and grep well.
 */
export interface AccessLogEntry {
  start_time: string;
  reporter: RequestRecord["reporter"];
  method: string;
  path: string;
  protocol: string;
  response_code: number;
  response_flags: string;
  response_code_details: string | null;
  bytes_received: number;
  bytes_sent: number;
  duration: number;
  x_forwarded_for: string | null;
  user_agent: string | null;
  request_id: string | null;
  authority: string;
  upstream_host: string | null;
  upstream_cluster: string | null;
  route_name: string | null;
  downstream_remote_address: string | null;
  downstream_local_address: string | null;
  trace_id: string | null;
  source_workload: string | null;
  destination_workload: string | null;
  destination_service: string;
}

/**
 * The access-log entry of a completed request.
 *
 * @example
 * ```ts
 * write(`${JSON.stringify(accessLogEntry(record))}\n`);
 * ```
 */
export function accessLogEntry(record: RequestRecord): AccessLogEntry {
  const outbound = record.reporter === "source";
  const source = outbound ? record.self : record.peer;
  const destination = outbound ? record.peer : record.self;
  return {
    start_time: new Date(record.startMs).toISOString(),
    reporter: record.reporter,
    method: record.method,
    path: record.path,
    protocol: "HTTP/1.1",
    response_code: record.responseCode,
    response_flags: record.responseFlags,
    response_code_details: record.responseCodeDetails ?? null,
    bytes_received: record.requestBytes,
    bytes_sent: record.responseBytes,
    duration: Math.round(record.durationMs),
    x_forwarded_for: record.requestHeaders["x-forwarded-for"] ?? null,
    user_agent: record.requestHeaders["user-agent"] ?? null,
    request_id: record.requestId ?? null,
    authority: record.authority,
    upstream_host: record.upstreamHost ?? null,
    upstream_cluster: record.upstreamCluster ?? null,
    route_name: record.routeName ?? null,
    downstream_remote_address: record.downstreamRemoteAddress ?? null,
    downstream_local_address: record.downstreamLocalAddress ?? null,
    trace_id: record.trace?.traceId ?? null,
    source_workload: source?.workload ?? null,
    destination_workload: destination?.workload ?? null,
    destination_service: record.destinationService.host,
  };
}
