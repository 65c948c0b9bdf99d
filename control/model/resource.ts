import { z } from "zod";
import type { ResourceMetadata } from "../../broker/events.ts";
import type { Reporter } from "./diagnostics.ts";
import { checkLabels } from "./istio-fields.ts";
import { isDns1035Label, isDns1123Label, isDns1123Subdomain, suggestDnsName } from "./names.ts";
import { reportZodIssues } from "./zod-issues.ts";

/** Namespace used when a resource does not name one. */
export const DEFAULT_NAMESPACE = "default";

/**
 * Kubernetes object metadata. Server-set fields (`uid`, `resourceVersion`, `managedFields`...) are
 * accepted so `kubectl get -o yaml` output applies, and dropped.
 */
export const metadataSchema = z.strictObject({
  name: z.string(),
  namespace: z.string().optional(),
  labels: z.record(z.string(), z.string()).optional(),
  annotations: z.record(z.string(), z.string()).optional(),
  generation: z.number().int().nonnegative().optional(),
  creationTimestamp: z.string().nullable().optional(),
  uid: z.unknown().optional(),
  resourceVersion: z.unknown().optional(),
  selfLink: z.unknown().optional(),
  managedFields: z.unknown().optional(),
  ownerReferences: z.unknown().optional(),
  finalizers: z.unknown().optional(),
  generateName: z.unknown().optional(),
  deletionTimestamp: z.unknown().optional(),
  deletionGracePeriodSeconds: z.unknown().optional(),
});

/** Top-level keys a resource document may have. */
export const documentSchema = z.strictObject({
  apiVersion: z.string(),
  kind: z.string(),
  metadata: z.unknown(),
  spec: z.unknown(),
  status: z.unknown().optional(),
});

/**
 * Validates metadata: a DNS-1123 name (a DNS-1035 label for Services, as Kubernetes requires), a
 * DNS-1123 label namespace (default "default"), valid labels. Returns the kept metadata, or
 * undefined when there are errors (which are reported).
 *
 * @example
 * ```ts
 * readMetadata({ name: "reviews" }, "VirtualService", reporter); // { name: "reviews", namespace: "default" }
 * ```
 */
export function readMetadata(raw: unknown, kind: string, report: Reporter): ResourceMetadata | undefined {
  if (raw === undefined || raw === null) {
    report.error("JIBE1006", ["metadata"], "metadata is required; add metadata: { name: <name> }");
    return undefined;
  }
  const parsed = metadataSchema.safeParse(raw, { reportInput: true });
  if (!parsed.success) {
    const before = report.diagnostics.length;
    reportZodIssues(parsed.error.issues, metadataSchema, ["metadata"], report);
    for (const d of report.diagnostics.slice(before)) d.code = "JIBE1006";
    return undefined;
  }
  const meta = parsed.data;
  const before = report.diagnostics.length;
  const nameOk = kind === "Service" ? isDns1035Label(meta.name) : isDns1123Subdomain(meta.name);
  if (!nameOk) {
    const rule =
      kind === "Service"
        ? "a Service name must be a DNS-1035 label: at most 63 lower-case letters, digits and '-', starting with a letter"
        : "a name must be a DNS-1123 subdomain: lower-case letters, digits, '-' and '.', starting and ending with a letter or digit";
    report.error(
      "JIBE1006",
      ["metadata", "name"],
      `name "${meta.name}" is invalid; ${rule}, e.g. "${suggestDnsName(meta.name)}"`,
    );
  }
  const namespace = meta.namespace ?? DEFAULT_NAMESPACE;
  if (!isDns1123Label(namespace)) {
    report.error(
      "JIBE1006",
      ["metadata", "namespace"],
      `namespace "${namespace}" is invalid; use a DNS-1123 label, e.g. "${suggestDnsName(namespace)}"`,
    );
  }
  checkLabels(meta.labels, ["metadata", "labels"], report);
  for (const d of report.diagnostics.slice(before)) d.code = "JIBE1006";
  if (report.diagnostics.length > before) return undefined;
  const out: ResourceMetadata = { name: meta.name, namespace };
  if (meta.labels) out.labels = meta.labels;
  if (meta.annotations) out.annotations = meta.annotations;
  if (meta.generation !== undefined) out.generation = meta.generation;
  if (typeof meta.creationTimestamp === "string") out.creationTimestamp = meta.creationTimestamp;
  return out;
}
