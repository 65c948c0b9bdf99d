import { stringify } from "yaml";
import { formatRef } from "../../broker/events.ts";
import type { StreamedEvent } from "../admin/types.ts";
import type { Diagnostic } from "../compile/snapshot.ts";
import type { ApplyResult, HistoryItem, ResourceView } from "../plane/types.ts";

/**
 * How the CLI prints things: kubectl-style where kubectl has a style, pure functions of their input.
 *
 * @example
 * ```ts
 * formatApplyLine(result);  // "virtualservice.networking.istio.io/reviews configured"
 * formatDiagnostic(d, "vs.yaml"); // "vs.yaml: VirtualService/default/reviews: spec.http[0].route: ..."
 * ```
 */

/** `virtualservice.networking.istio.io` for Istio kinds, `service` for core ones. */
export function resourceTypeName(kind: string, apiVersion: string): string {
  const slash = apiVersion.indexOf("/");
  return slash > 0 ? `${kind.toLowerCase()}.${apiVersion.slice(0, slash)}` : kind.toLowerCase();
}

export function formatApplyLine(result: ApplyResult, dryRun = false): string {
  const notPublished =
    result.published === false ? " (event delayed: the bus is unreachable, retried on the next change)" : "";
  const type = resourceTypeName(result.ref.kind, result.apiVersion);
  return `${type}/${result.ref.name} ${result.action}${dryRun ? " (dry run)" : ""}${notPublished}`;
}

export function formatDeleteLine(result: ApplyResult): string {
  return `${resourceTypeName(result.ref.kind, result.apiVersion)} "${result.ref.name}" deleted`;
}

/** `1 error`, `2 errors`. */
export function plural(count: number, word: string): string {
  return `${count} ${word}${count === 1 ? "" : "s"}`;
}

/** `FILE: Kind/ns/name: spec.path: message` (parts that are empty are left out). */
export function formatDiagnostic(diagnostic: Diagnostic, file?: string): string {
  const severity = diagnostic.severity === "warning" ? "warning: " : "";
  // Parse errors name the file itself as their resource; say it once.
  const resource = diagnostic.resource === file ? undefined : diagnostic.resource;
  const parts = [file, resource, diagnostic.path].filter((p): p is string => Boolean(p));
  return `${[...parts, `${severity}${diagnostic.message}`].join(": ")}`;
}

/** Left-aligned columns, three spaces apart, like kubectl. */
export function formatTable(header: readonly string[], rows: readonly (readonly string[])[]): string {
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? "").length)));
  const line = (cells: readonly string[]) =>
    cells
      .map((cell, i) => (i === cells.length - 1 ? cell : cell.padEnd(widths[i]!)))
      .join("   ")
      .trimEnd();
  return `${[line(header), ...rows.map(line)].join("\n")}\n`;
}

/** `42s`, `5m`, `3h`, `2d` since `iso`. */
export function formatAge(iso: string | undefined, now: number): string {
  if (!iso) return "<unknown>";
  const seconds = Math.max(0, Math.floor((now - Date.parse(iso)) / 1000));
  if (seconds < 120) return `${seconds}s`;
  if (seconds < 7200) return `${Math.floor(seconds / 60)}m`;
  if (seconds < 172_800) return `${Math.floor(seconds / 3600)}h`;
  return `${Math.floor(seconds / 86_400)}d`;
}

export function formatResourceTable(
  views: readonly ResourceView[],
  withNamespace: boolean,
  now: number,
): string {
  const header = [...(withNamespace ? ["NAMESPACE"] : []), "NAME", "GENERATION", "REVISION", "AGE"];
  const rows = views.map((v) => [
    ...(withNamespace ? [v.ref.namespace] : []),
    v.ref.name,
    String(v.resource.metadata.generation ?? ""),
    String(v.revision),
    formatAge(v.resource.metadata.creationTimestamp, now),
  ]);
  return formatTable(header, rows);
}

export function formatHistoryTable(items: readonly HistoryItem[]): string {
  const rows = items.map((item) => [
    String(item.revision),
    item.operation,
    item.resource ? String(item.resource.metadata.generation ?? "") : item.problem ? "untrusted" : "",
    item.created,
  ]);
  return formatTable(["REVISION", "OPERATION", "GENERATION", "CREATED"], rows);
}

/** A resource, or a kubectl-style `List` of them, as YAML or JSON. */
export function formatDocuments(value: unknown, format: "yaml" | "json"): string {
  return format === "json" ? `${JSON.stringify(value, null, 2)}\n` : stringify(value);
}

export function asList(items: readonly unknown[]): object {
  return { apiVersion: "v1", kind: "List", items };
}

/** One line per event: `<signed time> <type> <Kind/ns/name> revision=<n>[ generation=<g>]`. */
export function formatEventLine(item: StreamedEvent): string {
  const { event } = item;
  const base = `${new Date(item.iat).toISOString()}  ${event.type.padEnd(16)}  ${formatRef(event.ref)}  revision=${event.revision}`;
  switch (event.type) {
    case "resource.applied":
      return `${base} generation=${event.resource.metadata.generation ?? "?"}`;
    case "resource.deleted":
      return base;
    default: {
      const unknownEvent: never = event;
      return `${base} (unknown event ${JSON.stringify(unknownEvent)})`;
    }
  }
}
