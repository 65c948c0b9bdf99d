import type { ResourceRef, StoredResource } from "../../broker/events.ts";
import type { ProxyReport, ReportingProxyKind } from "../../broker/proxy-report.ts";
import { resourceKey } from "../../broker/subjects.ts";
import { createIncrementalCompiler } from "../compile/incremental.ts";
import type { ProxyIdentity } from "../compile/snapshot.ts";
import type { ResourceView } from "../plane/types.ts";

/**
 * `GET /api/v1/proxy-status`: per proxy, the config it applied against the config the control plane
 * compiles for it now from the store (the same incremental compiler the proxies run), compared by
 * snapshot content hash as `istioctl proxy-status` compares nonces. Pure: reports and resources in.
 *
 * - `SYNCED`: the proxy's snapshot hash equals the one compiled now.
 * - `STALE`: the hashes differ (the proxy has not applied the latest config, or compiled it otherwise).
 * - `NOT SENT`: the proxy holds no config (its snapshot is the one compiled from nothing) while there
 *   is config for it: it never received (or never accepted) a value.
 * - `UNKNOWN`: the proxy's report carries no applied config (a proxy that predates it).
 * - `NOT REPORTING`: the proxy answered before but not this time (stopped, or cut off from the bus).
 *
 * @example
 * ```ts
 * const rows = proxyStatuses(roster.observe(await collectProxyReports(nc), Date.now()), await plane.list(), Date.now());
 * ```
 */
export type ProxySyncStatus = "SYNCED" | "STALE" | "NOT SENT" | "UNKNOWN" | "NOT REPORTING";

/** A snapshot by store revision and content hash. */
export interface ConfigVersion {
  revision: number;
  version: string;
}

/** One line of `jibe proxy-status`. */
export interface ProxyStatus {
  proxy: string;
  kind: ReportingProxyKind;
  namespace: string;
  status: ProxySyncStatus;
  /** What the proxy reported it applied; absent for `UNKNOWN`. */
  applied?: ConfigVersion;
  /** What the control plane compiles for the proxy now; absent for `UNKNOWN`. */
  expected?: ConfigVersion;
  /** Time of the proxy's last report (ms since the epoch) and its age when this status was made. */
  lastReportAt: number;
  lastReportAgeMs: number;
}

/** `jibe proxy-status <proxy-id>`: one proxy's status and what changed since its revision. */
export interface ProxyStatusDetail extends ProxyStatus {
  labels: Record<string, string>;
  /** Resources written after the revision the proxy applied (the candidates for what differs). */
  newerResources: { ref: ResourceRef; revision: number }[];
  /** Why the status is what it is, in words. */
  explanation: string;
}

/** The reports answered now and the last reports of proxies that answered before but not now. */
export interface ObservedReports {
  current: readonly ProxyReport[];
  missing: readonly ProxyReport[];
}

/** Status lines for every observed proxy, sorted by id. */
export function proxyStatuses(
  observed: ObservedReports,
  views: readonly ResourceView[],
  now: number,
): ProxyStatus[] {
  const expectedFor = createExpectedVersions(views);
  const rows = [
    ...observed.current.map((r) => statusOf(r, expectedFor, now, false)),
    ...observed.missing.map((r) => statusOf(r, expectedFor, now, true)),
  ];
  return rows.sort((a, b) => a.proxy.localeCompare(b.proxy));
}

/** One proxy's detail; `undefined` when no observed proxy has that id. */
export function proxyStatusDetail(
  observed: ObservedReports,
  views: readonly ResourceView[],
  proxyId: string,
  now: number,
): ProxyStatusDetail | undefined {
  const missing = !observed.current.some((r) => r.proxy === proxyId);
  const report = [...observed.current, ...observed.missing].find((r) => r.proxy === proxyId);
  if (!report) return undefined;
  const status = statusOf(report, createExpectedVersions(views), now, missing);
  const since = status.applied?.revision;
  const newerResources =
    since === undefined
      ? []
      : views
          .filter((v) => v.revision > since)
          .map((v) => ({ ref: v.ref, revision: v.revision }))
          .sort((a, b) => a.revision - b.revision);
  return {
    ...status,
    labels: report.labels,
    newerResources,
    explanation: explain(status, newerResources.length),
  };
}

function statusOf(
  report: ProxyReport,
  expectedFor: (identity: ProxyIdentity) => ExpectedVersions,
  now: number,
  missing: boolean,
): ProxyStatus {
  const base = {
    proxy: report.proxy,
    kind: report.kind ?? "sidecar",
    namespace: report.namespace,
    lastReportAt: report.at,
    lastReportAgeMs: Math.max(0, now - report.at),
  };
  const config = report.config;
  if (!config) return { ...base, status: missing ? "NOT REPORTING" : "UNKNOWN" };
  const applied = { revision: config.revision, version: config.version };
  const { expected, empty } = expectedFor({
    id: report.proxy,
    role: config.role,
    namespace: report.namespace,
    labels: report.labels,
    ...(config.gateways ? { gateways: config.gateways } : {}),
    ...(config.domainSuffix ? { domainSuffix: config.domainSuffix } : {}),
  });
  const status: ProxySyncStatus = missing
    ? "NOT REPORTING"
    : applied.version === expected.version
      ? "SYNCED"
      : applied.version === empty
        ? "NOT SENT"
        : "STALE";
  return { ...base, status, applied, expected };
}

/** What the control plane compiles for one proxy now, and the hash of a snapshot compiled from nothing. */
interface ExpectedVersions {
  expected: ConfigVersion;
  empty: string;
}

/** Compiles the store's resources for a proxy identity, once per distinct identity. */
function createExpectedVersions(
  views: readonly ResourceView[],
): (identity: ProxyIdentity) => ExpectedVersions {
  const resources = new Map<string, StoredResource>(views.map((v) => [resourceKey(v.ref), v.resource]));
  const revision = views.reduce((max, v) => Math.max(max, v.revision), 0);
  const cache = new Map<string, ExpectedVersions>();
  return (identity) => {
    // The id is part of the identity hash the proxy compiled with: it stays in the key.
    const key = JSON.stringify(identity);
    let found = cache.get(key);
    if (!found) {
      const compiler = createIncrementalCompiler(identity);
      const empty = compiler.update({ resources: new Map(), changed: new Set(), revision: 0 }).snapshot
        .version;
      const { snapshot } = compiler.update({ resources, changed: new Set(resources.keys()), revision });
      found = { expected: { revision, version: snapshot.version }, empty };
      cache.set(key, found);
    }
    return found;
  };
}

function explain(status: ProxyStatus, newer: number): string {
  switch (status.status) {
    case "SYNCED":
      return "the proxy's snapshot hash equals the one the control plane compiles for it now";
    case "NOT SENT":
      return "the proxy holds no config although there is config for it: it received none, or rejected every value (does it trust the signing key?)";
    case "UNKNOWN":
      return "the proxy's report carries no applied config (it predates proxy-status): upgrade it";
    case "NOT REPORTING":
      return `the proxy stopped answering report requests ${Math.round(status.lastReportAgeMs / 1000)}s ago (stopped, or cut off from NATS)`;
    case "STALE":
      return newer > 0
        ? `${newer} resource(s) changed after revision ${status.applied?.revision}, the one the proxy applied`
        : "same revision but another snapshot hash: the proxy compiled the store differently (another Jibe version, or it rejected a value)";
  }
}
