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

export interface ProxyReport {
  v: 1;
  proxy: string;
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
        const report = JSON.parse(fromUtf8.decode(msg.data)) as ProxyReport;
        if (report?.v === 1 && typeof report.proxy === "string") reports.push(report);
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
