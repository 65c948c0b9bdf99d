import type { PolicyDecisionCounts, ProxyReport } from "../../broker/proxy-report.ts";
import { formatTable } from "./output.ts";

/**
 * `jibe authz stats`: the authorization decisions each running proxy counted, per policy, from the
 * reports proxies send (`broker/proxy-report.ts`). Pure: reports in, rows and text out.
 *
 * @example
 * ```ts
 * process.stdout.write(formatAuthzStats(authzStatsRows(await client.proxies())));
 * ```
 */

/** One proxy's counts for one policy (`policy` is `AuthorizationPolicy/<ns>/<name>`). */
export interface AuthzStatsRow extends PolicyDecisionCounts {
  proxy: string;
  policy: string;
}

/** Rows per proxy and policy, sorted; proxies without an authz report are left out. */
export function authzStatsRows(reports: readonly ProxyReport[]): AuthzStatsRow[] {
  const rows: AuthzStatsRow[] = [];
  for (const report of reports) {
    const policies = report.authz?.policies ?? {};
    for (const policy of Object.keys(policies).sort()) {
      const counts = policies[policy];
      if (counts) rows.push({ proxy: report.proxy, policy, ...counts });
    }
  }
  return rows.sort((a, b) => a.proxy.localeCompare(b.proxy) || a.policy.localeCompare(b.policy));
}

/** A table as `istioctl`'s: one line per proxy and policy; says so when no decision was counted yet. */
export function formatAuthzStats(rows: readonly AuthzStatsRow[]): string {
  if (rows.length === 0)
    return "no authorization decisions counted yet (no AuthorizationPolicy applies, or no traffic)\n";
  return formatTable(
    ["PROXY", "POLICY", "ALLOWED", "DENIED", "DRY-RUN ALLOWED", "DRY-RUN DENIED", "AUDITED"],
    rows.map((r) => [
      r.proxy,
      r.policy,
      String(r.allowed),
      String(r.denied),
      String(r.shadowAllowed),
      String(r.shadowDenied),
      String(r.audited),
    ]),
  );
}
