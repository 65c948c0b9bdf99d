import {
  array,
  boolean,
  duration,
  integer,
  labels,
  map,
  number,
  object,
  oneOf,
  opaque,
  port,
  string,
  strings,
} from "./openapi-schema.ts";

/** Istio networking.istio.io spec schemas (the fields of istio.io/api, networking/v1). */
const stringMatch = object({ exact: string(), prefix: string(), regex: string() }, { maxProperties: 1 });
const percent = object({ value: number({ minimum: 0, maximum: 100 }) });
const portSelector = object({ number: port() });
const destination = object({ host: string(), subset: string(), port: portSelector }, { required: ["host"] });
const headerOperations = object({ set: labels(), add: labels(), remove: strings() });
const headers = object({ request: headerOperations, response: headerOperations });
const workloadSelector = object({ matchLabels: labels() });

const httpMatch = object({
  name: string(),
  uri: stringMatch,
  scheme: stringMatch,
  method: stringMatch,
  authority: stringMatch,
  headers: map(stringMatch),
  port: port(),
  sourceLabels: labels(),
  gateways: strings(),
  queryParams: map(stringMatch),
  ignoreUriCase: boolean(),
  withoutHeaders: map(stringMatch),
  sourceNamespace: string(),
  statPrefix: string(),
});

const httpRoute = object({
  name: string(),
  match: array(httpMatch),
  route: array(
    object({ destination, weight: integer({ minimum: 0 }), headers }, { required: ["destination"] }),
  ),
  redirect: object({
    uri: string(),
    authority: string(),
    port: port(),
    derivePort: oneOf(["FROM_PROTOCOL_DEFAULT", "FROM_REQUEST_PORT"]),
    scheme: string(),
    redirectCode: integer({ minimum: 300, maximum: 399 }),
  }),
  directResponse: object(
    { status: integer({ minimum: 200, maximum: 599 }), body: object({ string: string(), bytes: string() }) },
    { required: ["status"] },
  ),
  delegate: object({ name: string(), namespace: string() }),
  rewrite: object({
    uri: string(),
    authority: string(),
    uriRegexRewrite: object({ match: string(), rewrite: string() }),
  }),
  timeout: duration(),
  retries: object({
    attempts: integer({ minimum: 0 }),
    perTryTimeout: duration(),
    retryOn: string(),
    retryRemoteLocalities: boolean(),
  }),
  fault: object({
    delay: object({
      fixedDelay: duration(),
      percentage: percent,
      percent: integer({ minimum: 0, maximum: 100 }),
    }),
    abort: object({
      httpStatus: integer({ minimum: 200, maximum: 599 }),
      grpcStatus: string(),
      percentage: percent,
    }),
  }),
  mirror: destination,
  mirrors: array(object({ destination, percentage: percent }, { required: ["destination"] })),
  mirrorPercentage: percent,
  mirrorPercent: integer({ minimum: 0, maximum: 100 }),
  corsPolicy: object({
    allowOrigins: array(stringMatch),
    allowOrigin: strings(),
    allowMethods: strings(),
    allowHeaders: strings(),
    exposeHeaders: strings(),
    maxAge: duration(),
    allowCredentials: boolean(),
    unmatchedPreflights: oneOf(["UNSPECIFIED", "FORWARD", "IGNORE"]),
  }),
  headers,
});

const l4Match = {
  destinationSubnets: strings(),
  port: port(),
  sourceLabels: labels(),
  gateways: strings(),
  sourceNamespace: string(),
};
const routeDestination = object(
  { destination, weight: integer({ minimum: 0 }) },
  { required: ["destination"] },
);

export const virtualServiceSpec = object({
  hosts: strings(),
  gateways: strings(),
  exportTo: strings(),
  http: array(httpRoute),
  tls: array(
    object({ match: array(object({ sniHosts: strings(), ...l4Match })), route: array(routeDestination) }),
  ),
  tcp: array(object({ match: array(object(l4Match)), route: array(routeDestination) })),
});

const clientTls = object({
  mode: oneOf(["DISABLE", "SIMPLE", "MUTUAL", "ISTIO_MUTUAL"]),
  clientCertificate: string(),
  privateKey: string(),
  caCertificates: string(),
  credentialName: string(),
  subjectAltNames: strings(),
  sni: string(),
  insecureSkipVerify: boolean(),
  caCrl: string(),
});

const trafficPolicyFields = {
  loadBalancer: object({
    simple: oneOf(["UNSPECIFIED", "LEAST_CONN", "RANDOM", "PASSTHROUGH", "ROUND_ROBIN", "LEAST_REQUEST"]),
    consistentHash: opaque("Hash on a header, cookie, source IP or query parameter."),
    localityLbSetting: opaque(),
    warmupDurationSecs: duration(),
  }),
  connectionPool: object({
    tcp: object({
      maxConnections: integer({ minimum: 0 }),
      connectTimeout: duration(),
      tcpKeepalive: object({ probes: integer({ minimum: 0 }), time: duration(), interval: duration() }),
      maxConnectionDuration: duration(),
      idleTimeout: duration(),
    }),
    http: object({
      http1MaxPendingRequests: integer({ minimum: 0 }),
      http2MaxRequests: integer({ minimum: 0 }),
      maxRequestsPerConnection: integer({ minimum: 0 }),
      maxRetries: integer({ minimum: 0 }),
      idleTimeout: duration(),
      h2UpgradePolicy: oneOf(["DEFAULT", "DO_NOT_UPGRADE", "UPGRADE"]),
      useClientProtocol: boolean(),
      maxConcurrentStreams: integer({ minimum: 0 }),
    }),
  }),
  outlierDetection: object({
    splitExternalLocalOriginErrors: boolean(),
    consecutiveLocalOriginFailures: integer({ minimum: 0 }),
    consecutiveGatewayErrors: integer({ minimum: 0 }),
    consecutive5xxErrors: integer({ minimum: 0 }),
    consecutiveErrors: integer({ minimum: 0 }),
    interval: duration(),
    baseEjectionTime: duration(),
    maxEjectionPercent: integer({ minimum: 0, maximum: 100 }),
    minHealthPercent: integer({ minimum: 0, maximum: 100 }),
  }),
  tls: clientTls,
  tunnel: opaque(),
  proxyProtocol: opaque(),
};
const trafficPolicy = object({
  ...trafficPolicyFields,
  portLevelSettings: array(object({ port: portSelector, ...trafficPolicyFields })),
});

export const destinationRuleSpec = object(
  {
    host: string("The service the rule applies to (short name, FQDN or wildcard)."),
    trafficPolicy,
    subsets: array(object({ name: string(), labels: labels(), trafficPolicy }, { required: ["name"] })),
    exportTo: strings(),
    workloadSelector,
  },
  { required: ["host"] },
);

export const workloadEntrySpec = object({
  address: string(),
  ports: map(integer({ minimum: 1, maximum: 65535 })),
  labels: labels(),
  network: string(),
  locality: string(),
  weight: integer({ minimum: 0 }),
  serviceAccount: string(),
});
