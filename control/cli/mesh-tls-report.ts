import type { ProxyReport } from "../../broker/proxy-report.ts";
import { CliError } from "./errors.ts";
import { formatTable } from "./output.ts";

/**
 * The answers of `jibe proxy-config secret` and `jibe mtls check`, from the reports running proxies
 * send (`broker/proxy-report.ts`). Pure: reports in, text and verdicts out.
 *
 * @example
 * ```ts
 * const reports = await client.proxies();
 * const verdict = checkMtls(selectWorkloads(reports, "productpage", "default"), selectWorkloads(reports, "reviews", "default"));
 * process.stdout.write(formatMtlsVerdict(verdict));
 * ```
 */

/**
 * The proxies of a workload: `workload` is a proxy id, an `app` label value, or a label selector
 * (`app=reviews,version=v1`); `namespace` narrows unless the workload is a proxy id.
 */
export function selectWorkloads(
  reports: readonly ProxyReport[],
  workload: string,
  namespace: string,
): ProxyReport[] {
  const byId = reports.filter((r) => r.proxy === workload);
  if (byId.length > 0) return byId;
  const selector = workload.includes("=")
    ? Object.fromEntries(workload.split(",").map((pair) => pair.split("=").map((s) => s.trim())))
    : { app: workload };
  const found = reports.filter(
    (r) =>
      r.namespace === namespace && Object.entries(selector).every(([key, value]) => r.labels[key] === value),
  );
  if (found.length === 0) {
    const running = reports.map((r) => r.proxy).join(", ") || "none answered";
    throw new CliError(
      "input",
      `no running proxy matches ${workload} in namespace ${namespace}; give a proxy id or labels (running: ${running})`,
    );
  }
  return found;
}

/** `jibe proxy-config secret`: the chain and roots of each proxy, as `istioctl proxy-config secret`. */
export function formatSecrets(reports: readonly ProxyReport[]): string {
  return reports
    .map((report) => {
      const title = `${report.proxy}  ${report.secret?.spiffeId ?? "(no workload certificate)"}`;
      if (!report.secret) return `${title}\n`;
      const rows = [
        ...report.secret.chain.map((cert) => [
          "default",
          cert.role === "workload" ? "Cert Chain" : "Intermediate",
          cert,
        ]),
        ...report.secret.roots.map((cert) => ["ROOTCA", "CA", cert]),
      ].map(([name, type, cert]) => {
        const c = cert as NonNullable<ProxyReport["secret"]>["chain"][number];
        return [
          name as string,
          type as string,
          c.state === "valid" ? "ACTIVE" : c.state.toUpperCase(),
          String(c.state === "valid"),
          c.serial,
          c.notAfter,
          c.notBefore,
          c.subject || c.spiffeId || "",
        ];
      });
      return `${title}\n${formatTable(
        [
          "RESOURCE NAME",
          "TYPE",
          "STATUS",
          "VALID CERT",
          "SERIAL NUMBER",
          "NOT AFTER",
          "NOT BEFORE",
          "SUBJECT",
        ],
        rows,
      )}`;
    })
    .join("\n");
}

/** The answer to "is traffic from A to B using mTLS?". */
export interface MtlsVerdict {
  /** `mtls`: every observed request used mTLS; `plaintext`: some did not; `unobserved`: none seen yet. */
  verdict: "mtls" | "plaintext" | "unobserved";
  from: string[];
  to: string[];
  /** Requests the client proxies sent to the server's endpoints, by transport. */
  observed: { mtls: number; tls: number; plaintext: number };
  /** Identities the server presented to the client. */
  serverIdentities: string[];
  /** Requests the server let in from the client's identity over mTLS. */
  serverSawClient: Record<string, number>;
  /** PeerAuthentication mode in force on the server's inbound listener(s). */
  serverModes: string[];
}

/** Exit codes of `jibe mtls check`. */
export const MTLS_EXIT = { mtls: 0, plaintext: 3, unobserved: 4 } as const;

export function checkMtls(from: readonly ProxyReport[], to: readonly ProxyReport[]): MtlsVerdict {
  const serverEndpoints = new Set(to.map((r) => r.inboundAddress));
  const serverIds = new Set(to.flatMap((r) => (r.secret?.spiffeId ? [r.secret.spiffeId] : [])));
  const clientIds = new Set(from.flatMap((r) => (r.secret?.spiffeId ? [r.secret.spiffeId] : [])));
  const observed = { mtls: 0, tls: 0, plaintext: 0 };
  const presented = new Set<string>();
  for (const report of from) {
    for (const seen of report.outbound) {
      if (!serverEndpoints.has(seen.endpoint) && !seen.peers.some((p) => serverIds.has(p))) continue;
      observed.mtls += seen.mtls;
      observed.tls += seen.tls;
      observed.plaintext += seen.plaintext;
      for (const peer of seen.peers) presented.add(peer);
    }
  }
  const serverSawClient: Record<string, number> = {};
  for (const report of to) {
    for (const [principal, count] of Object.entries(report.inbound.principals)) {
      if (clientIds.has(principal)) serverSawClient[principal] = (serverSawClient[principal] ?? 0) + count;
    }
  }
  const total = observed.mtls + observed.tls + observed.plaintext;
  return {
    verdict: total === 0 ? "unobserved" : observed.mtls === total ? "mtls" : "plaintext",
    from: from.map((r) => r.proxy),
    to: to.map((r) => r.proxy),
    observed,
    serverIdentities: [...presented].sort(),
    serverSawClient,
    serverModes: [...new Set(to.map((r) => r.peerAuthentication.mode))].sort(),
  };
}

export function formatMtlsVerdict(v: MtlsVerdict): string {
  const total = v.observed.mtls + v.observed.tls + v.observed.plaintext;
  const headline =
    v.verdict === "mtls"
      ? `yes: all ${total} observed requests used mutual TLS`
      : v.verdict === "plaintext"
        ? `NO: ${total - v.observed.mtls} of ${total} observed requests did not use mutual TLS (${v.observed.plaintext} plaintext, ${v.observed.tls} TLS without a mesh identity)`
        : "unknown: no requests from the client to the server observed yet; send some and ask again";
  const policy = v.serverModes.join(", ");
  const lines = [
    `${v.from.join(", ")} → ${v.to.join(", ")}`,
    `  mTLS: ${headline}`,
    `  server identity seen by the client: ${v.serverIdentities.join(", ") || "none"}`,
    `  client identity seen by the server: ${
      Object.entries(v.serverSawClient)
        .map(([id, n]) => `${id} (${n} requests)`)
        .join(", ") || "none"
    }`,
    `  server PeerAuthentication: ${policy}${policy === "STRICT" ? " (only mTLS is accepted)" : ""}`,
  ];
  return `${lines.join("\n")}\n`;
}
