import { createInbox, type NatsConnection } from "@nats-io/nats-core";

/**
 * What a proxy reports when asked (`jibe proxy-config secret`, `jibe mtls check`, `jibe authz
 * stats`): its certificate chain, the inbound PeerAuthentication mode, what it observed on the
 * wire, and its authorization decisions per policy. Requests go to {@link PROXY_REPORT_SUBJECT} (every proxy answers;
 * outside `jibe.v1.>` so policy sync never sees them). Reports are the proxies' own word, not
 * signed: restrict who may publish on the subject with NATS permissions. nats-core only.
 *
 * @example
 * ```ts
 * const stop = serveProxyReport(nc, () => sidecarReport());
 * const reports = await collectProxyReports(nc, { timeoutMs: 500 });
 * ```
 */
export const PROXY_REPORT_SUBJECT = "jibe.proxy-report.v1";

/** One certificate of a proxy's chain or trust bundle (see `identity/describe-secret.ts`). */
export interface ReportedCertificate {
  role: "workload" | "intermediate" | "root";
  subject: string;
  issuer: string;
  serial: string;
  notBefore: string;
  notAfter: string;
  spiffeId?: string;
  state: "valid" | "expired" | "not-yet-valid";
}

/** Requests a proxy forwarded to one upstream endpoint, by how the connection was secured. */
export interface OutboundObservation {
  /** Destination service host (the cluster's). */
  service: string;
  /** `address:port` the requests went to. */
  endpoint: string;
  mtls: number;
  /** TLS whose server presented no SPIFFE ID (DestinationRule SIMPLE / MUTUAL). */
  tls: number;
  plaintext: number;
  /** SPIFFE IDs the server presented. */
  peers: string[];
}

/** Requests a proxy let in, by how the caller connected. */
export interface InboundObservation {
  mtls: number;
  plaintext: number;
  /** Authenticated callers' SPIFFE IDs with their request counts. */
  principals: Record<string, number>;
}

/** Decisions one AuthorizationPolicy made at a proxy (Envoy RBAC's `allowed`/`denied`/`shadow_*`). */
export interface PolicyDecisionCounts {
  allowed: number;
  denied: number;
  /** Dry-run (`istio.io/dry-run`): would have allowed / denied. */
  shadowAllowed: number;
  shadowDenied: number;
  /** AUDIT: requests it marked. */
  audited: number;
}

/** A proxy's inbound authorization decisions (HTTP requests and TCP connections). */
export interface AuthzObservation {
  /** Requests let through (all policies considered) and refused (403 / closed connection). */
  allowed: number;
  denied: number;
  /** 401: a JWT was presented and failed verification. */
  jwtRejected: number;
  /** Requests a dry-run policy would have decided differently from the enforced decision. */
  dryRunMismatch: number;
  /** Keyed `AuthorizationPolicy/<ns>/<name>`, or `(no ALLOW policy matched)` for default denials. */
  policies: Record<string, PolicyDecisionCounts>;
  /** CUSTOM policies' external authorizer outcomes. */
  extAuthz: { ok: number; denied: number; error: number; failureModeAllowed: number };
}

/** What kind of proxy reports: Node sidecar, Node ingress gateway, or edge worker. */
export type ReportingProxyKind = "sidecar" | "gateway" | "edge";

/**
 * The config a proxy has applied: enough for the control plane to compile the same view for it and
 * compare (`jibe proxy-status`). `version` is the content hash of the proxy's snapshot.
 */
export interface AppliedConfig {
  /** Highest config-store revision the proxy's snapshot reflects. */
  revision: number;
  /** Snapshot content hash (`Snapshot.version`). */
  version: string;
  /** How the proxy compiles: its role, the Gateways it implements, its DNS suffix. */
  role: "sidecar" | "gateway";
  gateways?: string[];
  domainSuffix?: string;
}

export interface ProxyReport {
  v: 1;
  proxy: string;
  /** Absent from proxies that predate it (they are sidecars). */
  kind?: ReportingProxyKind;
  namespace: string;
  labels: Record<string, string>;
  /** When the report was made (ms since the epoch). */
  at: number;
  /** `host:port` of the inbound (mesh → app) listener. */
  inboundAddress: string;
  /** The workload certificate, intermediates and trusted roots; absent without an identity. */
  secret?: { spiffeId?: string; chain: ReportedCertificate[]; roots: ReportedCertificate[] };
  /**
   * PeerAuthentication: `mode` in force on the inbound listener (the app port's), the workload's
   * default and per-port modes.
   */
  peerAuthentication: { mode: string; defaultMode: string; ports: Record<string, string> };
  inbound: InboundObservation;
  outbound: OutboundObservation[];
  /** Absent from proxies that predate it. */
  authz?: AuthzObservation;
  /** The applied config; absent from proxies that predate it, or when the report carried a malformed one. */
  config?: AppliedConfig;
}

const utf8 = new TextEncoder();
const fromUtf8 = new TextDecoder();

/** Answers report requests with `build()`; returns a stop function. */
export function serveProxyReport(nc: NatsConnection, build: () => ProxyReport): () => void {
  const sub = nc.subscribe(PROXY_REPORT_SUBJECT, {
    callback: (err, msg) => {
      if (err || !msg.reply) return;
      msg.respond(utf8.encode(JSON.stringify(build())));
    },
  });
  return () => sub.unsubscribe();
}

/** Asks every proxy for its report and gathers the answers that arrive within `timeoutMs` (default 500). */
export async function collectProxyReports(
  nc: NatsConnection,
  opts: { timeoutMs?: number } = {},
): Promise<ProxyReport[]> {
  const inbox = createInbox();
  const reports: ProxyReport[] = [];
  const sub = nc.subscribe(inbox, {
    callback: (err, msg) => {
      if (err) return;
      try {
        const report = parseProxyReport(JSON.parse(fromUtf8.decode(msg.data)));
        if (report) reports.push(report);
      } catch {
        // not a report: ignored
      }
    },
  });
  nc.publish(PROXY_REPORT_SUBJECT, utf8.encode("{}"), { reply: inbox });
  await new Promise((resolve) => setTimeout(resolve, opts.timeoutMs ?? 500));
  sub.unsubscribe();
  return reports.sort((a, b) => a.proxy.localeCompare(b.proxy));
}

/**
 * Checks a report off the bus: `undefined` when it is not a v1 report (no id, namespace, labels or
 * time). Optional parts that are malformed are dropped, so one proxy's bad field never hides it.
 *
 * @example
 * ```ts
 * const report = parseProxyReport(JSON.parse(text)); // undefined: not a report
 * ```
 */
export function parseProxyReport(value: unknown): ProxyReport | undefined {
  if (!isObject(value) || value.v !== 1) return undefined;
  const { proxy, namespace, labels, at } = value;
  if (typeof proxy !== "string" || proxy === "" || typeof namespace !== "string") return undefined;
  if (!isObject(labels) || typeof at !== "number" || !Number.isFinite(at)) return undefined;
  const { kind, config, ...rest } = value;
  const report = rest as unknown as ProxyReport;
  if (kind === "sidecar" || kind === "gateway" || kind === "edge") report.kind = kind;
  const applied = parseAppliedConfig(config);
  if (applied) report.config = applied;
  return report;
}

function parseAppliedConfig(value: unknown): AppliedConfig | undefined {
  if (!isObject(value)) return undefined;
  const { revision, version, role, gateways, domainSuffix } = value;
  if (typeof revision !== "number" || !Number.isInteger(revision) || revision < 0) return undefined;
  if (typeof version !== "string" || version === "") return undefined;
  if (role !== "sidecar" && role !== "gateway") return undefined;
  const config: AppliedConfig = { revision, version, role };
  if (Array.isArray(gateways) && gateways.every((g) => typeof g === "string")) config.gateways = gateways;
  if (typeof domainSuffix === "string" && domainSuffix !== "") config.domainSuffix = domainSuffix;
  return config;
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}
