import { z } from "zod";
import type { Reporter } from "./diagnostics.ts";
import { parseDurationMs } from "./duration.ts";
import {
  checkDuration,
  checkLabels,
  checkPort,
  durationSchema,
  portSelectorSchema,
  stringMapSchema,
} from "./istio-fields.ts";
import { isDns1123Label, wildcardDomainProblem } from "./names.ts";

/**
 * `networking.istio.io` DestinationRule spec
 * (https://istio.io/latest/docs/reference/config/networking/destination-rule/).
 */

/** The `simple` load balancer values Istio accepts. */
export const SIMPLE_LOAD_BALANCERS = [
  "UNSPECIFIED",
  "RANDOM",
  "PASSTHROUGH",
  "ROUND_ROBIN",
  "LEAST_REQUEST",
  "LEAST_CONN",
] as const;

const loadBalancerSchema = z.strictObject({
  simple: z.enum(SIMPLE_LOAD_BALANCERS).optional(),
  consistentHash: z
    .strictObject({
      httpHeaderName: z.string().optional(),
      httpCookie: z
        .strictObject({
          name: z.string(),
          path: z.string().optional(),
          ttl: durationSchema.optional(),
          attributes: z.array(z.strictObject({ name: z.string(), value: z.string().optional() })).optional(),
        })
        .optional(),
      useSourceIp: z.boolean().optional(),
      httpQueryParameterName: z.string().optional(),
      ringHash: z.strictObject({ minimumRingSize: z.number().int().optional() }).optional(),
      maglev: z.strictObject({ tableSize: z.number().int().optional() }).optional(),
      minimumRingSize: z.number().int().optional(),
    })
    .optional(),
  localityLbSetting: z.record(z.string(), z.unknown()).optional(),
  warmupDurationSecs: durationSchema.optional(),
  warmup: z.record(z.string(), z.unknown()).optional(),
});

const connectionPoolSchema = z.strictObject({
  tcp: z
    .strictObject({
      maxConnections: z.number().int().optional(),
      connectTimeout: durationSchema.optional(),
      tcpKeepalive: z
        .strictObject({
          probes: z.number().int().optional(),
          time: durationSchema.optional(),
          interval: durationSchema.optional(),
        })
        .optional(),
      maxConnectionDuration: durationSchema.optional(),
      idleTimeout: durationSchema.optional(),
    })
    .optional(),
  http: z
    .strictObject({
      http1MaxPendingRequests: z.number().int().optional(),
      http2MaxRequests: z.number().int().optional(),
      maxRequestsPerConnection: z.number().int().optional(),
      maxRetries: z.number().int().optional(),
      idleTimeout: durationSchema.optional(),
      h2UpgradePolicy: z.enum(["DEFAULT", "DO_NOT_UPGRADE", "UPGRADE"]).optional(),
      useClientProtocol: z.boolean().optional(),
      maxConcurrentStreams: z.number().int().optional(),
    })
    .optional(),
});

const outlierDetectionSchema = z.strictObject({
  splitExternalLocalOriginErrors: z.boolean().optional(),
  consecutiveLocalOriginFailures: z.number().int().optional(),
  consecutiveGatewayErrors: z.number().int().optional(),
  consecutive5xxErrors: z.number().int().optional(),
  consecutiveErrors: z.number().int().optional(),
  interval: durationSchema.optional(),
  baseEjectionTime: durationSchema.optional(),
  maxEjectionPercent: z.number().int().optional(),
  minHealthPercent: z.number().int().optional(),
});

const clientTlsSchema = z.strictObject({
  mode: z.enum(["DISABLE", "SIMPLE", "MUTUAL", "ISTIO_MUTUAL"]).optional(),
  clientCertificate: z.string().optional(),
  privateKey: z.string().optional(),
  caCertificates: z.string().optional(),
  credentialName: z.string().optional(),
  subjectAltNames: z.array(z.string()).optional(),
  sni: z.string().optional(),
  insecureSkipVerify: z.boolean().optional(),
  caCrl: z.string().optional(),
});

const portTrafficPolicySchema = z.strictObject({
  port: portSelectorSchema.optional(),
  loadBalancer: loadBalancerSchema.optional(),
  connectionPool: connectionPoolSchema.optional(),
  outlierDetection: outlierDetectionSchema.optional(),
  tls: clientTlsSchema.optional(),
});

export const trafficPolicySchema = z.strictObject({
  loadBalancer: loadBalancerSchema.optional(),
  connectionPool: connectionPoolSchema.optional(),
  outlierDetection: outlierDetectionSchema.optional(),
  tls: clientTlsSchema.optional(),
  portLevelSettings: z.array(portTrafficPolicySchema).optional(),
  tunnel: z.record(z.string(), z.unknown()).optional(),
  proxyProtocol: z.record(z.string(), z.unknown()).optional(),
});
export type TrafficPolicy = z.infer<typeof trafficPolicySchema>;

export const destinationRuleSpecSchema = z.strictObject({
  host: z.string(),
  trafficPolicy: trafficPolicySchema.optional(),
  subsets: z
    .array(
      z.strictObject({
        name: z.string(),
        labels: stringMapSchema.optional(),
        trafficPolicy: trafficPolicySchema.optional(),
      }),
    )
    .optional(),
  exportTo: z.array(z.string()).optional(),
  workloadSelector: z.strictObject({ matchLabels: stringMapSchema.optional() }).optional(),
});

/** A validated DestinationRule spec. */
export type DestinationRuleSpec = z.infer<typeof destinationRuleSpecSchema>;

/** Istio's semantic rules for a DestinationRule (host, unique DNS-1123 subset names, policies). */
export function checkDestinationRule(spec: DestinationRuleSpec, report: Reporter): void {
  const problem = wildcardDomainProblem(spec.host);
  if (problem) report.error("JIBE1017", ["spec", "host"], problem);
  checkTrafficPolicy(spec.trafficPolicy, ["spec", "trafficPolicy"], report);
  const names = new Map<string, number>();
  spec.subsets?.forEach((subset, i) => {
    if (!isDns1123Label(subset.name)) {
      report.error(
        "JIBE1013",
        ["spec", "subsets", i, "name"],
        `subset name "${subset.name}" is invalid; use a DNS-1123 label such as "v1"`,
      );
    }
    const first = names.get(subset.name);
    if (first !== undefined)
      report.error(
        "JIBE1018",
        ["spec", "subsets", i, "name"],
        `subset "${subset.name}" is already defined at subsets[${first}]; rename or remove one`,
      );
    else names.set(subset.name, i);
    checkLabels(subset.labels, ["spec", "subsets", i, "labels"], report);
    checkTrafficPolicy(subset.trafficPolicy, ["spec", "subsets", i, "trafficPolicy"], report);
  });
  checkLabels(spec.workloadSelector?.matchLabels, ["spec", "workloadSelector", "matchLabels"], report);
}

function checkTrafficPolicy(
  policy: TrafficPolicy | undefined,
  path: (string | number)[],
  report: Reporter,
): void {
  if (!policy) return;
  const durations: [string | undefined, (string | number)[]][] = [
    [policy.connectionPool?.tcp?.connectTimeout, ["connectionPool", "tcp", "connectTimeout"]],
    [policy.connectionPool?.http?.idleTimeout, ["connectionPool", "http", "idleTimeout"]],
    [policy.outlierDetection?.interval, ["outlierDetection", "interval"]],
    [policy.outlierDetection?.baseEjectionTime, ["outlierDetection", "baseEjectionTime"]],
  ];
  for (const [value, rel] of durations) checkDuration(value, [...path, ...rel], report);
  checkClientTls(policy.tls, [...path, "tls"], report);
  const ports = new Map<number, number>();
  policy.portLevelSettings?.forEach((setting, i) => {
    checkClientTls(setting.tls, [...path, "portLevelSettings", i, "tls"], report);
    const port = setting.port?.number;
    if (port === undefined) {
      report.error(
        "JIBE1012",
        [...path, "portLevelSettings", i, "port"],
        "port is required in portLevelSettings; add port: { number: 9080 }",
      );
      return;
    }
    checkPort(port, [...path, "portLevelSettings", i, "port", "number"], report);
    const first = ports.get(port);
    if (first !== undefined)
      report.error(
        "JIBE1018",
        [...path, "portLevelSettings", i, "port"],
        `port ${port} already has settings at portLevelSettings[${first}]`,
      );
    else ports.set(port, i);
  });
  const lb = policy.loadBalancer;
  if (lb?.simple && lb.consistentHash) {
    report.error("JIBE1013", [...path, "loadBalancer"], "use either simple or consistentHash, not both");
  }
  const hash = lb?.consistentHash;
  if (hash) {
    const keys = [hash.httpHeaderName, hash.httpCookie, hash.useSourceIp, hash.httpQueryParameterName].filter(
      (k) => k !== undefined && k !== false,
    );
    if (keys.length !== 1)
      report.error(
        "JIBE1013",
        [...path, "loadBalancer", "consistentHash"],
        "set exactly one of httpHeaderName, httpCookie, useSourceIp or httpQueryParameterName",
      );
    // ttl "0s" is valid: a session cookie.
    const ttl = hash.httpCookie?.ttl;
    if (ttl !== undefined && parseDurationMs(ttl) !== 0)
      checkDuration(ttl, [...path, "loadBalancer", "consistentHash", "httpCookie", "ttl"], report);
  }
}

/** Istio's ClientTLSSettings rules: MUTUAL needs a client certificate; ISTIO_MUTUAL takes none. */
function checkClientTls(tls: TrafficPolicy["tls"], path: (string | number)[], report: Reporter): void {
  if (tls?.mode === "MUTUAL" && !tls.credentialName) {
    if (!tls.clientCertificate)
      report.error(
        "JIBE1012",
        [...path, "clientCertificate"],
        "tls.mode MUTUAL needs the client certificate: set clientCertificate (a PEM file path) or credentialName",
      );
    if (!tls.privateKey)
      report.error(
        "JIBE1012",
        [...path, "privateKey"],
        "tls.mode MUTUAL needs the client key: set privateKey (a PEM file path) or credentialName",
      );
  }
  if (tls?.mode === "ISTIO_MUTUAL") {
    for (const field of ["clientCertificate", "privateKey", "caCertificates", "credentialName"] as const) {
      if (tls[field])
        report.error(
          "JIBE1013",
          [...path, field],
          `tls.mode ISTIO_MUTUAL uses the mesh certificates; remove ${field} or use mode MUTUAL`,
        );
    }
  }
}
