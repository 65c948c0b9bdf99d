import type { RequestRecord } from "./request-record.ts";

/**
 * Istio's span name for a hop: `<destination service>:<port>/*`, the port of the upstream cluster
 * (`outbound|9080||…`) when routed, else the one the authority names.
 *
 * @example
 * ```ts
 * spanName(record); // "reviews.default.svc.cluster.local:9080/*"
 * ```
 */
export function spanName(record: RequestRecord): string {
  const port =
    record.servicePort ??
    record.upstreamCluster?.match(/^outbound\|(\d+)\|/)?.[1] ??
    record.authority.match(/:(\d+)$/)?.[1];
  return `${record.destinationService.host}${port ? `:${port}` : ""}/*`;
}

/**
 * Istio's span tags (`istio.*`, `http.*`, `upstream_cluster`, `response_flags`, ...) of a hop.
 *
 * @example
 * ```ts
 * spanAttributes(record, "sidecar~reviews-v1~default")["http.status_code"]; // 200
 * ```
 */
export function spanAttributes(record: RequestRecord, proxyId: string): Record<string, string | number> {
  const attributes: Record<string, string | number> = {
    component: "proxy",
    node_id: proxyId,
    "guid:x-request-id": record.requestId ?? "",
    "http.url": `${record.scheme}://${record.authority}${record.path}`,
    "http.method": record.method,
    "http.protocol": "HTTP/1.1",
    "http.status_code": record.responseCode,
    user_agent: record.requestHeaders["user-agent"] ?? "",
    request_size: record.requestBytes,
    response_size: record.responseBytes,
    response_flags: record.responseFlags,
    "istio.canonical_service": record.self.canonicalService,
    "istio.canonical_revision": record.self.canonicalRevision,
    "istio.namespace": record.self.namespace,
    "istio.mesh_id": "cluster.local",
  };
  if (record.upstreamCluster) {
    attributes.upstream_cluster = record.upstreamCluster;
    attributes["upstream_cluster.name"] = record.upstreamCluster;
  }
  if (record.downstreamRemoteAddress) attributes["peer.address"] = record.downstreamRemoteAddress;
  return attributes;
}

/** OTLP span kinds used by proxies. */
const SPAN_KIND = { server: 2, client: 3 } as const;

/**
 * The OTLP/HTTP JSON export body (`POST /v1/traces`, `content-type: application/json`) for sampled
 * hops, for runtimes where the OpenTelemetry SDK does not run (workerd): one resource, one span per
 * record, ids as the trace headers carried them so the next hop's span links to this one. A
 * `source` reporter's span is CLIENT, a `destination` one SERVER; 5xx or no response is an error.
 *
 * @example
 * ```ts
 * await fetch(endpoint, { method: "POST", headers: { "content-type": "application/json" },
 *   body: JSON.stringify(otlpTraceRequest(records, { "service.name": "jibe-edge.default" }, "edge~local")) });
 * ```
 */
export function otlpTraceRequest(
  records: readonly RequestRecord[],
  resource: Readonly<Record<string, string>>,
  proxyId: string,
): object {
  const spans = records.flatMap((record) => {
    const context = record.trace;
    if (!context) return [];
    const startNs = BigInt(Math.round(record.startMs * 1000)) * 1000n;
    const endNs = startNs + BigInt(Math.round(record.durationMs * 1e6));
    return [
      {
        traceId: context.traceId,
        spanId: context.spanId,
        ...(context.parentSpanId ? { parentSpanId: context.parentSpanId } : {}),
        ...(context.tracestate ? { traceState: context.tracestate } : {}),
        name: spanName(record),
        kind: record.reporter === "source" ? SPAN_KIND.client : SPAN_KIND.server,
        startTimeUnixNano: startNs.toString(),
        endTimeUnixNano: endNs.toString(),
        attributes: keyValues(spanAttributes(record, proxyId)),
        status: { code: record.responseCode === 0 || record.responseCode >= 500 ? 2 : 0 },
      },
    ];
  });
  return {
    resourceSpans: [
      {
        resource: { attributes: keyValues(resource) },
        scopeSpans: [{ scope: { name: "jibe-proxy" }, spans }],
      },
    ],
  };
}

function keyValues(attributes: Readonly<Record<string, string | number>>): object[] {
  return Object.entries(attributes).map(([key, value]) => ({
    key,
    value: typeof value === "number" ? { intValue: String(Math.round(value)) } : { stringValue: value },
  }));
}
