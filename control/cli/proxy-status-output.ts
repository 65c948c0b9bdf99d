import type { ConfigVersion, ProxyStatus, ProxyStatusDetail } from "../admin/proxy-status.ts";
import { formatTable } from "./output.ts";

/**
 * Text of `jibe proxy-status`: one line per proxy as `istioctl proxy-status` prints it, and one
 * proxy's detail. Pure.
 *
 * @example
 * ```ts
 * process.stdout.write(formatProxyStatuses(await client.proxyStatus()));
 * ```
 */
export function formatProxyStatuses(rows: readonly ProxyStatus[]): string {
  if (rows.length === 0) return "no proxy answered on the bus (none running, or none connected to NATS)\n";
  return formatTable(
    ["NAME", "KIND", "NAMESPACE", "STATUS", "APPLIED", "LATEST", "LAST REPORT"],
    rows.map((r) => [
      r.proxy,
      r.kind,
      r.namespace,
      r.status,
      versionText(r.applied),
      versionText(r.expected),
      `${ageText(r.lastReportAgeMs)} ago`,
    ]),
  );
}

/** One proxy: status, both versions, and the resources written after the revision it applied. */
export function formatProxyStatusDetail(detail: ProxyStatusDetail): string {
  const labels = Object.entries(detail.labels).map(([k, v]) => `${k}=${v}`);
  const lines = [
    `Proxy:       ${detail.proxy} (${detail.kind}, namespace ${detail.namespace})`,
    `Labels:      ${labels.join(",") || "(none)"}`,
    `Status:      ${detail.status}: ${detail.explanation}`,
    `Applied:     ${fullVersion(detail.applied)}`,
    `Latest:      ${fullVersion(detail.expected)}`,
    `Last report: ${ageText(detail.lastReportAgeMs)} ago`,
  ];
  if (detail.newerResources.length > 0) {
    lines.push(`Changed after revision ${detail.applied?.revision}:`);
    for (const { ref, revision } of detail.newerResources)
      lines.push(`  ${ref.kind}/${ref.namespace}/${ref.name} (revision ${revision})`);
  }
  return `${lines.join("\n")}\n`;
}

function versionText(version: ConfigVersion | undefined): string {
  return version ? `${version.revision}/${version.version.slice(0, 8)}` : "-";
}

function fullVersion(version: ConfigVersion | undefined): string {
  return version ? `revision ${version.revision}, snapshot ${version.version}` : "(not reported)";
}

function ageText(ms: number): string {
  const seconds = Math.floor(ms / 1000);
  if (seconds < 60) return `${seconds}s`;
  if (seconds < 3600) return `${Math.floor(seconds / 60)}m${seconds % 60}s`;
  return `${Math.floor(seconds / 3600)}h${Math.floor((seconds % 3600) / 60)}m`;
}
