/**
 * What one proxy needs, compiled from resources: plain data, no functions, JSON-serialisable
 * (the edge worker's Durable Object hands it to the worker; `jibe proxy-config` prints it).
 *
 * The engine in `workers/engine` evaluates requests against a snapshot; it never sees resources.
 */

import type { AuthzSnapshot } from "./authz-snapshot.ts";
import type { Protocol } from "./protocol.ts";

/** Who a proxy is. The compile step uses it to select what applies to this proxy. */
export interface ProxyIdentity {
  /** Unique id, e.g. `sidecar~reviews-v3~default` or `edge~local`. */
  id: string;
  /** `sidecar` (per-pod proxy) or `gateway` (edge worker / ingress). */
  role: "sidecar" | "gateway";
  namespace: string;
  /** Workload labels (sidecars); used for sourceLabels matching and inbound selection. */
  labels: Record<string, string>;
  /** Gateway names this proxy implements (`namespace/name`), for VirtualService `gateways`. */
  gateways?: string[];
  /** Cluster-local DNS suffix; default `cluster.local`. */
  domainSuffix?: string;
}

/** A string matcher, as in Istio's StringMatch. */
export type StringMatch = { exact: string } | { prefix: string } | { regex: string };

/** One `match` block: every present condition must hold (AND). */
export interface RouteMatch {
  name?: string;
  uri?: StringMatch;
  method?: StringMatch;
  authority?: StringMatch;
  scheme?: StringMatch;
  /** Header name (lower-case) → matcher; `{ present: true }` when the spec gave an empty matcher. */
  headers?: Record<string, StringMatch | { present: true }>;
  withoutHeaders?: Record<string, StringMatch | { present: true }>;
  queryParams?: Record<string, StringMatch | { present: true }>;
  port?: number;
  ignoreUriCase?: boolean;
  sourceLabels?: Record<string, string>;
  sourceNamespace?: string;
  /** TCP rules: CIDR blocks (IPv4/IPv6) one of which holds the connection's original destination IP. */
  destinationSubnets?: string[];
  /** TCP rules: a CIDR block holding the connection's source IP. */
  sourceSubnet?: string;
}

/** A weighted destination: one cluster. */
export interface WeightedCluster {
  /** Key into `Snapshot.clusters`. */
  cluster: string;
  weight: number;
  /** Header changes when this destination is picked; applied before the route's own (which win). */
  headers?: HeaderPolicy;
  /** A destination that did not resolve (Gateway API backendRef): its share answers this status, not 503. */
  unresolvedStatus?: number;
}

/**
 * Istio `Headers.HeaderOperations`, applied remove → set → add (Envoy's remove-before-add).
 * Names are lower-case.
 */
export interface HeaderOperations {
  /** Replace the header (or add it). */
  set?: Record<string, string>;
  /** Append a value (the header may end up with several). */
  add?: Record<string, string>;
  remove?: string[];
}

/** Header changes for the request sent upstream and for the response sent back. */
export interface HeaderPolicy {
  request?: HeaderOperations;
  response?: HeaderOperations;
}

/** Istio `HTTPRedirect`: the proxy answers `status` with a `Location` built from the request. */
export interface RedirectPolicy {
  /** 301 unless `redirectCode` said otherwise. */
  status: number;
  /** Replaces the whole path (the query string is kept). */
  uri?: string;
  /** Replaces the host (and any port it carries). */
  authority?: string;
  port?: number;
  /** `FROM_PROTOCOL_DEFAULT`: 80/443 by scheme (left out of Location); `FROM_REQUEST_PORT`: the request's. */
  derivePort?: "FROM_PROTOCOL_DEFAULT" | "FROM_REQUEST_PORT";
  scheme?: "http" | "https";
  /** Rewrites the path as a route rewrite would, query kept (Gateway API `ReplacePrefixMatch`). */
  pathRewrite?: UriRewrite;
}

/**
 * How the path is rewritten before forwarding (Envoy `prefix_rewrite` / `regex_rewrite`); the
 * query string is always kept.
 * - `prefix`: the matched prefix is replaced (a rule matched by `uri.prefix`; `/` for rules
 *   without a uri match). With `replacement: "/"` the slashes after the prefix collapse into one.
 * - `path`: the whole path is replaced (rules matched by `uri.exact` or `uri.regex`).
 * - `regex`: every match of `pattern` (RE2) is replaced by `substitution` (`\1` = group 1).
 */
export type UriRewrite =
  | { kind: "prefix"; prefix: string; replacement: string; ignoreCase?: boolean }
  | { kind: "path"; replacement: string }
  | { kind: "regex"; pattern: string; substitution: string };

/** Istio `HTTPRewrite`. */
export interface RewritePolicy {
  uri?: UriRewrite;
  /** Replaces the Host/authority sent upstream. */
  authority?: string;
}

/** A retry condition, as Envoy's `retry_on` names it (gRPC ones read the `grpc-status` header). */
export type RetryCondition =
  | "5xx"
  | "gateway-error"
  | "reset"
  | "reset-before-request"
  | "connect-failure"
  | "envoy-ratelimited"
  | "retriable-4xx"
  | "refused-stream"
  | "retriable-status-codes"
  | "retriable-headers"
  | "http3-post-connect-failure"
  | "cancelled"
  | "deadline-exceeded"
  | "internal"
  | "resource-exhausted"
  | "unavailable";

/**
 * Istio `HTTPRetry` as compiled. A route action without `retries` uses Istio's default policy
 * (`DEFAULT_RETRY_POLICY` in workers/engine: 2 retries on connect-failure, refused-stream,
 * unavailable, cancelled and 503); `attempts: 0` disables retries.
 */
export interface RetryPolicy {
  /** Retries after the first try (Istio `attempts`). */
  attempts: number;
  perTryTimeoutMs?: number;
  retryOn: RetryCondition[];
  /** Statuses retried under `retriable-status-codes` (Istio: numbers given in `retryOn`). */
  retriableStatusCodes: number[];
  /** Jittered exponential backoff: the n-th wait is random in [0, base·2ⁿ), capped at 10·base. */
  backoffBaseMs: number;
}

/** Istio `HTTPFaultInjection`; percentages are 0–100 and unset means 0 (no request). */
export interface FaultPolicy {
  delay?: { fixedDelayMs: number; percentage: number };
  abort?: { percentage: number; httpStatus?: number; grpcStatus?: number };
}

/** A copy of the request sent to `cluster` for `percentage`% of requests; its answer is dropped. */
export interface MirrorPolicy {
  cluster: string;
  percentage: number;
}

/** Istio `CorsPolicy`, answered by the proxy (Envoy's CORS filter). */
export interface CorsPolicy {
  /** Origins allowed; a matcher that matches `*` allows every origin. */
  allowOrigins: StringMatch[];
  /** Comma lists and the max age in seconds, as sent in the `access-control-*` headers. */
  allowMethods?: string;
  allowHeaders?: string;
  exposeHeaders?: string;
  maxAge?: string;
  allowCredentials?: boolean;
  /** Preflights from origins not allowed go upstream (`FORWARD`, Istio's default) or get a bare 200. */
  unmatchedPreflights: "FORWARD" | "IGNORE";
}

/** What a matched route does. */
export type RouteAction =
  | {
      kind: "route";
      destinations: WeightedCluster[];
      timeoutMs?: number;
      /** Absent: Istio's default retry policy (see {@link RetryPolicy}). */
      retries?: RetryPolicy;
      rewrite?: RewritePolicy;
      mirrors?: MirrorPolicy[];
    }
  /** `flag`: the proxy, not a rule, answers (Istio's BlackHoleCluster under REGISTRY_ONLY: 502 `NR`). */
  | { kind: "directResponse"; status: number; body?: string; flag?: "NR" }
  | { kind: "redirect"; redirect: RedirectPolicy };

/** One `http` rule of a VirtualService (or the default route of a Service). */
export interface Route {
  /** `VirtualService/<ns>/<name>#<index>` or `Service/<ns>/<name>#default`: names what decided. */
  origin: string;
  name?: string;
  /** OR across entries; empty = matches everything. */
  match: RouteMatch[];
  action: RouteAction;
  /** Request/response header changes of the rule (after the chosen destination's). */
  headers?: HeaderPolicy;
  /** A fault disables the route's timeout and retries (Istio). */
  fault?: FaultPolicy;
  cors?: CorsPolicy;
}

/** Everything routed under a set of domains (one service host or one VirtualService host set). */
export interface VirtualHost {
  name: string;
  /** Lower-case authority values this virtual host answers: `reviews`, `reviews:9080`, FQDN, `*`, `*.example.com`. */
  domains: string[];
  /** First match wins, in order. */
  routes: Route[];
  /**
   * Routes of TCP connections (ports whose protocol is not HTTP, `protocol.ts`): the VirtualService
   * `tcp` rules (matching `port`, `sourceLabels`, `sourceNamespace`), else the Service's default
   * routes. Absent when the host has no TCP port and no `tcp` rule.
   */
  tcpRoutes?: Route[];
  /**
   * ServiceEntry `addresses` given as CIDR blocks: a TCP connection whose original destination IP
   * lies in one of `cidrs`, on one of `ports`, is this host's (after exact and wildcard domains,
   * before the `*` catch-all; the longest prefix wins across hosts).
   */
  subnets?: { cidrs: string[]; ports: number[] };
}

/** An upstream endpoint. */
export interface Endpoint {
  address: string;
  port: number;
  labels: Record<string, string>;
  /** WorkloadEntry / ServiceEntry endpoint `weight` (> 1): picked proportionally more often. Absent: 1. */
  weight?: number;
}

/** A set of endpoints for one service port and subset: `outbound|<port>|<subset>|<fqdn>`. */
export interface Cluster {
  name: string;
  /** Service FQDN. */
  service: string;
  port: number;
  /** The Service port's protocol (`appProtocol` / port name, `protocol.ts`); absent: HTTP/1.1 (declared `http` or undeclared). */
  protocol?: Protocol;
  subset?: string;
  loadBalancer: "ROUND_ROBIN" | "LEAST_REQUEST" | "RANDOM";
  endpoints: Endpoint[];
  /** DestinationRule `consistentHash`: a ring hash over the endpoints replaces `loadBalancer`. */
  consistentHash?: ConsistentHashPolicy;
  /** DestinationRule `connectionPool` limits (a per-cluster circuit breaker). */
  connectionPool?: ConnectionPoolPolicy;
  /** DestinationRule `outlierDetection`: endpoints failing in a row are ejected for a while. */
  outlierDetection?: OutlierDetectionPolicy;
  /**
   * DestinationRule `tls.mode` when one is set. Absent: auto-mTLS (mutual TLS to endpoints labelled
   * `security.istio.io/tlsMode: istio`, plaintext to others). `DISABLE`: always plaintext.
   */
  tlsMode?: "DISABLE" | "SIMPLE" | "MUTUAL" | "ISTIO_MUTUAL";
  /**
   * Envoy's ORIGINAL_DST: the cluster has no endpoints; the proxy connects to the host and port the
   * request was addressed to (ServiceEntry `resolution: NONE`, the ALLOW_ANY passthrough cluster).
   */
  originalDestination?: boolean;
  /** DestinationRule `tls` settings besides `mode`, when any is set (files are read by the proxy). */
  tls?: UpstreamTlsSettings;
}

/**
 * How a proxy originates TLS to a cluster's endpoints (DestinationRule `ClientTLSSettings` without
 * `mode`). File paths are the proxy's own files: compiling does no I/O.
 */
export interface UpstreamTlsSettings {
  /** SNI sent in the handshake; default: the service host name. */
  sni?: string;
  /** The server certificate must carry one of these SANs (DNS, URI or IP); ISTIO_MUTUAL: SPIFFE IDs. */
  subjectAltNames?: string[];
  /** PEM file of the CAs the server certificate must chain to (SIMPLE / MUTUAL); default: system roots. */
  caCertificates?: string;
  /** MUTUAL: PEM file of the client certificate chain. */
  clientCertificate?: string;
  /** MUTUAL: PEM file of the client certificate's private key. */
  privateKey?: string;
  /** A Kubernetes Secret holding the client credentials (not read by Jibe sidecars: they use files). */
  credentialName?: string;
  /** Skips verification of the server certificate (chain and SANs). */
  insecureSkipVerify?: boolean;
}

/** What a consistent-hash cluster hashes (Istio `LoadBalancerSettings.ConsistentHashLB`). */
export type HashKeySource =
  | { kind: "header"; name: string }
  /** With `ttlMs`, a missing cookie is generated and set on the response (Envoy). */
  | {
      kind: "cookie";
      name: string;
      path?: string;
      ttlMs?: number;
      attributes?: { name: string; value?: string }[];
    }
  | { kind: "sourceIp" }
  | { kind: "queryParameter"; name: string };

/** A ring hash (Ketama-style, as Envoy's RING_HASH) over the cluster's endpoints. */
export interface ConsistentHashPolicy {
  key: HashKeySource;
  /** Points on the ring in total (Envoy's default 1024). */
  minimumRingSize: number;
}

/** Istio `ConnectionPoolSettings` as enforced; absent limits are unlimited. */
export interface ConnectionPoolPolicy {
  maxConnections?: number;
  connectTimeoutMs?: number;
  http1MaxPendingRequests?: number;
  http2MaxRequests?: number;
  maxRequestsPerConnection?: number;
  idleTimeoutMs?: number;
}

/** Istio `OutlierDetection` with its defaults filled in; a threshold of 0 disables that check. */
export interface OutlierDetectionPolicy {
  consecutive5xxErrors: number;
  consecutiveGatewayErrors: number;
  intervalMs: number;
  baseEjectionTimeMs: number;
  maxEjectionPercent: number;
}

/** A problem found while compiling. Errors make the affected part fail closed. */
export interface Diagnostic {
  severity: "error" | "warning";
  /** Stable code, e.g. `JIBE1001`. */
  code: string;
  /** `Kind/namespace/name` of the resource at fault. */
  resource: string;
  /** Field path, e.g. `spec.http[0].route[0].destination.subset`. */
  path: string;
  message: string;
}

/** An effective PeerAuthentication mode (`UNSET` is resolved away by inheritance). */
export type InboundTlsMode = "STRICT" | "PERMISSIVE" | "DISABLE";

/**
 * The inbound mTLS mode of a sidecar, compiled from PeerAuthentication (workload > namespace >
 * mesh). `ports` (workload ports, from the workload policy's `portLevelMtls`) override `defaultMode`.
 * The refs name the policy that won at each level, for `proxy-config` readers.
 */
export interface InboundTls {
  defaultMode: InboundTlsMode;
  ports: Record<number, InboundTlsMode>;
  mesh?: string;
  namespace?: string;
  workload?: string;
}

/** The compiled view of one proxy. */
export interface Snapshot {
  /** Content hash of everything below; equal hashes mean equal behaviour. */
  version: string;
  /** Highest config-store revision reflected. */
  revision: number;
  proxy: ProxyIdentity;
  virtualHosts: VirtualHost[];
  clusters: Record<string, Cluster>;
  /** Inbound authorization and request authentication; absent when no security policy exists. */
  authz?: AuthzSnapshot;
  /** Inbound mTLS (sidecars); absent when no PeerAuthentication exists (then PERMISSIVE). */
  inboundTls?: InboundTls;
  /**
   * Protocols of the Service ports that select this sidecar, by target port (`targetPort` when a
   * number, else the port); absent when none is declared other than HTTP. `inboundListenerProtocol`
   * (protocol.ts) reads it.
   */
  inboundProtocols?: Record<number, Protocol>;
  /**
   * Gateways: the servers of the Istio Gateways that select this proxy (`gateway-servers.ts`), one
   * listener per port for the Node ingress gateway. Absent for sidecars and when none is bound.
   */
  gatewayServers?: GatewayServerConfig[];
}

/** One server of an Istio Gateway bound to this proxy, as the ingress gateway listens for it. */
export interface GatewayServerConfig {
  /** `Gateway/<ns>/<name>` and the server's index: `Gateway/istio-system/public#1`. */
  origin: string;
  port: number;
  /** Upper-case server protocol: HTTP, HTTPS, HTTP2, GRPC, TLS, TCP… */
  protocol: string;
  /** Server hosts without their namespace part (`*`, `*.example.com`, `shop.example.com`). */
  hosts: string[];
  tls?: GatewayServerTls;
  /** PASSTHROUGH servers: the VirtualService `tls` routes bound to the Gateway, in order. */
  sniRoutes?: SniRoute[];
  /**
   * TCP servers (`TCP`, `MONGO`, …) and `TLS` servers that terminate TLS (SIMPLE, MUTUAL,
   * OPTIONAL_MUTUAL, ISTIO_MUTUAL): the first VirtualService `tcp` rule bound to the Gateway that
   * applies (Istio uses one per server). Absent: no rule, connections are closed.
   */
  tcpRoute?: GatewayTcpRoute;
}

/** The VirtualService `tcp` rule a gateway TCP server forwards its (decrypted) bytes with. */
export interface GatewayTcpRoute {
  /** `VirtualService/<ns>/<name>#tcp<index>`. */
  origin: string;
  destinations: WeightedCluster[];
}

/**
 * Istio `ServerTLSSettings` of a gateway server. File paths are the gateway's own files;
 * `credentialName` is resolved by the gateway (compiling does no I/O).
 */
export interface GatewayServerTls {
  httpsRedirect?: boolean;
  mode?: "PASSTHROUGH" | "SIMPLE" | "MUTUAL" | "AUTO_PASSTHROUGH" | "ISTIO_MUTUAL" | "OPTIONAL_MUTUAL";
  serverCertificate?: string;
  privateKey?: string;
  caCertificates?: string;
  credentialName?: string;
  /** Several Secrets served together (an RSA and an ECDSA certificate for the same hosts). */
  credentialNames?: string[];
  /** Several certificate / key file pairs served together (an RSA and an ECDSA one). */
  tlsCertificates?: { serverCertificate?: string; privateKey?: string; caCertificates?: string }[];
  subjectAltNames?: string[];
  /** A client certificate must match one of these SHA-256 fingerprints (hex) or SPKI hashes (base64), when set. */
  verifyCertificateHash?: string[];
  verifyCertificateSpki?: string[];
  /** PEM file of revoked client certificates (mutual modes; with a Secret: its `ca.crl`). */
  caCrl?: string;
  minProtocolVersion?: "TLS_AUTO" | "TLSV1_0" | "TLSV1_1" | "TLSV1_2" | "TLSV1_3";
  maxProtocolVersion?: "TLS_AUTO" | "TLSV1_0" | "TLSV1_1" | "TLSV1_2" | "TLSV1_3";
  cipherSuites?: string[];
}

/** A VirtualService `tls` rule at a PASSTHROUGH server: connections whose SNI matches go to the destinations. */
export interface SniRoute {
  /** `VirtualService/<ns>/<name>#tls<index>`. */
  origin: string;
  /** SNI names (exact or `*.suffix`) this rule takes, already narrowed to the server's hosts. */
  sniHosts: string[];
  destinations: WeightedCluster[];
}
