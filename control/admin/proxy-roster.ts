import type { ProxyReport } from "../../broker/proxy-report.ts";
import type { ObservedReports } from "./proxy-status.ts";

/**
 * Remembers the last report of every proxy seen, so one that stops answering still shows in
 * `jibe proxy-status` (as `NOT REPORTING`, with the age of its last report) until it is forgotten.
 *
 * @example
 * ```ts
 * const roster = createProxyRoster();
 * const observed = roster.observe(await collectProxyReports(nc), Date.now());
 * ```
 */
export interface ProxyRoster {
  observe(reports: readonly ProxyReport[], now: number): ObservedReports;
}

/** `forgetAfterMs`: how long a silent proxy is kept (default one hour). */
export function createProxyRoster(opts: { forgetAfterMs?: number } = {}): ProxyRoster {
  const forgetAfterMs = opts.forgetAfterMs ?? 3_600_000;
  const last = new Map<string, { report: ProxyReport; seenAt: number }>();
  return {
    observe(reports, now) {
      for (const report of reports) last.set(report.proxy, { report, seenAt: now });
      const answered = new Set(reports.map((r) => r.proxy));
      const missing: ProxyReport[] = [];
      for (const [id, entry] of last) {
        if (answered.has(id)) continue;
        if (now - entry.seenAt > forgetAfterMs) last.delete(id);
        else missing.push(entry.report);
      }
      return { current: reports, missing };
    },
  };
}
