/**
 * What one proxy needs, compiled from resources: plain data, no functions, JSON-serialisable
 * (the edge worker's Durable Object hands it to the worker; `jibe proxy-config` prints it).
 *
 * The engine in `workers/engine` evaluates requests against a snapshot; it never sees resources.
 */

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
}

/** A weighted destination: one cluster. */
export interface WeightedCluster {
  /** Key into `Snapshot.clusters`. */
  cluster: string;
  weight: number;
}

/** What a matched route does. */
export type RouteAction =
  | { kind: "route"; destinations: WeightedCluster[]; timeoutMs?: number }
  | { kind: "directResponse"; status: number; body?: string };

/** One `http` rule of a VirtualService (or the default route of a Service). */
export interface Route {
  /** `VirtualService/<ns>/<name>#<index>` or `Service/<ns>/<name>#default`: names what decided. */
  origin: string;
  name?: string;
  /** OR across entries; empty = matches everything. */
  match: RouteMatch[];
  action: RouteAction;
}

/** Everything routed under a set of domains (one service host or one VirtualService host set). */
export interface VirtualHost {
  name: string;
  /** Lower-case authority values this virtual host answers: `reviews`, `reviews:9080`, FQDN, `*`, `*.example.com`. */
  domains: string[];
  /** First match wins, in order. */
  routes: Route[];
}

/** An upstream endpoint. */
export interface Endpoint {
  address: string;
  port: number;
  labels: Record<string, string>;
}

/** A set of endpoints for one service port and subset: `outbound|<port>|<subset>|<fqdn>`. */
export interface Cluster {
  name: string;
  /** Service FQDN. */
  service: string;
  port: number;
  subset?: string;
  loadBalancer: "ROUND_ROBIN" | "LEAST_REQUEST" | "RANDOM";
  endpoints: Endpoint[];
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

/** The compiled view of one proxy. */
export interface Snapshot {
  /** Content hash of everything below; equal hashes mean equal behaviour. */
  version: string;
  /** Highest config-store revision reflected. */
  revision: number;
  proxy: ProxyIdentity;
  virtualHosts: VirtualHost[];
  clusters: Record<string, Cluster>;
}
