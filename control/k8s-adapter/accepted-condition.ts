import type { Diagnostic } from "../compile/snapshot.ts";

/** The condition type Jibe owns on the Istio resources it serves. */
export const ACCEPTED_CONDITION = "Accepted";

/** A Kubernetes `metav1.Condition`. */
export interface KubeCondition {
  type: string;
  status: "True" | "False" | "Unknown";
  reason: string;
  message: string;
  observedGeneration?: number;
  lastTransitionTime: string;
}

/** What Jibe concluded about one generation of a resource. */
export type Verdict = { accepted: true } | { accepted: false; diagnostics: readonly Diagnostic[] };

/**
 * The one-line, field-level reason of a rejection: `spec.http[0].route: ...; metadata.name: ...`.
 *
 * @example
 * ```ts
 * describeRejection([{ path: "spec.hosts", message: "hosts is required", ... }]); // "spec.hosts: hosts is required"
 * ```
 */
export function describeRejection(diagnostics: readonly Diagnostic[]): string {
  return diagnostics
    .filter((d) => d.severity === "error")
    .map((d) => (d.path ? `${d.path}: ${d.message}` : d.message))
    .join("; ");
}

/**
 * The `status` to write so it carries Jibe's `Accepted` condition for `generation`, or undefined when the
 * current status already says so (so the adapter's own status writes never loop). Other conditions and
 * status fields are kept; `lastTransitionTime` moves only when the condition's status changes.
 *
 * @example
 * ```ts
 * const next = statusWithVerdict(vs.status, vs.metadata.generation, { accepted: false, diagnostics }, new Date());
 * if (next) await writeStatus({ ...vs, status: next });
 * ```
 */
export function statusWithVerdict(
  current: unknown,
  generation: number | undefined,
  verdict: Verdict,
  now: Date,
): Record<string, unknown> | undefined {
  const status = isRecord(current) ? current : {};
  const conditions = Array.isArray(status.conditions) ? (status.conditions as KubeCondition[]) : [];
  const previous = conditions.find((c) => c.type === ACCEPTED_CONDITION);
  const wanted: Omit<KubeCondition, "lastTransitionTime"> = verdict.accepted
    ? { type: ACCEPTED_CONDITION, status: "True", reason: "Accepted", message: "published to the mesh" }
    : {
        type: ACCEPTED_CONDITION,
        status: "False",
        reason: "Invalid",
        message: `not published: ${describeRejection(verdict.diagnostics)}`,
      };
  if (generation !== undefined) wanted.observedGeneration = generation;
  const same =
    previous !== undefined &&
    previous.status === wanted.status &&
    previous.reason === wanted.reason &&
    previous.message === wanted.message &&
    previous.observedGeneration === wanted.observedGeneration;
  if (same) return undefined;
  const lastTransitionTime =
    previous?.status === wanted.status
      ? previous.lastTransitionTime
      : now.toISOString().replace(/\.\d{3}Z$/, "Z");
  return {
    ...status,
    ...(generation !== undefined ? { observedGeneration: generation } : {}),
    conditions: [
      ...conditions.filter((c) => c.type !== ACCEPTED_CONDITION),
      { ...wanted, lastTransitionTime },
    ],
  };
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}
