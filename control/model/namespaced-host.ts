import type { PathSegment, Reporter } from "./diagnostics.ts";
import { isDns1123Label, wildcardDomainProblem } from "./names.ts";

/** A `namespace/dnsName` host of a Sidecar egress listener or a Gateway server. */
export interface NamespacedHost {
  /** A namespace name, `*` (any), `.` (the resource's own) or `~` (none). */
  namespace: string;
  /** `*`, `*.example.com` or an FQDN. */
  host: string;
}

/**
 * Splits `ns/host` (Sidecar egress and Gateway server hosts). A host without `/` means any
 * namespace (`*`), as Istio reads Gateway hosts.
 *
 * @example
 * ```ts
 * parseNamespacedHost("prod/*.example.com"); // { namespace: "prod", host: "*.example.com" }
 * parseNamespacedHost("bookinfo.example.com"); // { namespace: "*", host: "bookinfo.example.com" }
 * ```
 */
export function parseNamespacedHost(value: string): NamespacedHost {
  const slash = value.indexOf("/");
  if (slash < 0) return { namespace: "*", host: value.toLowerCase() };
  return { namespace: value.slice(0, slash), host: value.slice(slash + 1).toLowerCase() };
}

/**
 * Istio's `validateNamespaceSlashWildcardHostname`: the namespace part is `*`, `.`, `~` or a
 * namespace name; the host part is `*` or a (wildcard) DNS name. `requireNamespace`: the `/` is
 * mandatory (Sidecar egress hosts).
 *
 * @example
 * ```ts
 * checkNamespacedHost("reviews", ["spec", "egress", 0, "hosts", 0], report, { requireNamespace: true }); // error
 * ```
 */
export function checkNamespacedHost(
  value: string,
  path: readonly PathSegment[],
  report: Reporter,
  opts: { requireNamespace: boolean },
): void {
  const parts = value.split("/");
  if (parts.length > 2 || (opts.requireNamespace && parts.length !== 2)) {
    report.error(
      "JIBE1017",
      path,
      `host "${value}" must have the form <namespace>/<dnsName>, e.g. "./*", "istio-system/*" or "*/reviews.default.svc.cluster.local"`,
    );
    return;
  }
  const { namespace, host } = parseNamespacedHost(value);
  if (parts.length === 2 && !["*", ".", "~"].includes(namespace) && !isDns1123Label(namespace)) {
    report.error(
      "JIBE1017",
      path,
      `namespace "${namespace}" in host "${value}" is invalid; use "*", ".", "~" or a namespace name`,
    );
  }
  const problem = wildcardDomainProblem(host);
  if (problem) report.error("JIBE1017", path, problem);
}

/**
 * Istio `exportTo` rules: `.` (own namespace), `*` (all), `~` (none) or namespace names; `*` and
 * `~` stand alone; no duplicates.
 *
 * @example
 * ```ts
 * checkExportTo(["*", "prod"], ["spec", "exportTo"], report); // error at spec.exportTo[0]
 * ```
 */
export function checkExportTo(
  exportTo: readonly string[] | undefined,
  path: readonly PathSegment[],
  report: Reporter,
): void {
  const list = exportTo ?? [];
  list.forEach((value, i) => {
    if (value !== "." && value !== "*" && value !== "~" && !isDns1123Label(value))
      report.error(
        "JIBE1013",
        [...path, i],
        `exportTo "${value}" is invalid; use ".", "*", "~" or a namespace name`,
      );
    else if ((value === "*" || value === "~") && list.length > 1)
      report.error("JIBE1022", [...path, i], `exportTo "${value}" cannot be combined with other entries`);
    else if (list.indexOf(value) !== i)
      report.error("JIBE1018", [...path, i], `exportTo "${value}" is listed twice; remove one`);
  });
}

/**
 * True when a resource of `namespace` exported with `exportTo` is visible from `proxyNamespace`
 * (no `exportTo` = everywhere, as Istio's default).
 *
 * @example
 * ```ts
 * isExportedTo(["."], "team", "default"); // false
 * ```
 */
export function isExportedTo(
  exportTo: readonly string[] | undefined,
  namespace: string,
  proxyNamespace: string,
): boolean {
  if (!exportTo || exportTo.length === 0) return true;
  return exportTo.some(
    (e) => e === "*" || e === proxyNamespace || (e === "." && namespace === proxyNamespace),
  );
}
