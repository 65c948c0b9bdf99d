import { z } from "zod";
import type { ResourceMetadata } from "../../broker/events.ts";
import type { PathSegment, Reporter } from "./diagnostics.ts";
import { checkLabels, stringMapSchema } from "./istio-fields.ts";

/**
 * The mesh root namespace (Istio's `istio-system` by default): a security policy here without a
 * selector applies to every workload of the mesh; with a selector, to matching workloads in
 * every namespace.
 */
export const ROOT_NAMESPACE = "istio-system";

/** Istio `WorkloadSelector`: the policy applies to workloads whose labels include these. */
export const workloadSelectorSchema = z.strictObject({ matchLabels: stringMapSchema.optional() });

/** Istio `PolicyTargetReference`: the resource a policy attaches to. */
export const policyTargetRefSchema = z.strictObject({
  group: z.string().optional(),
  kind: z.string(),
  name: z.string(),
  namespace: z.string().optional(),
});
export type PolicyTargetRef = z.infer<typeof policyTargetRefSchema>;

/** The kinds a security policy may target, by group (`""` is the Kubernetes core group). */
const TARGET_KINDS: Readonly<Record<string, string>> = {
  Gateway: "gateway.networking.k8s.io",
  GatewayClass: "gateway.networking.k8s.io",
  Service: "",
  ServiceEntry: "networking.istio.io",
};

/** How a security policy picks its workloads; fields shared by AuthorizationPolicy and RequestAuthentication. */
export interface PolicyTargeting {
  selector?: { matchLabels?: Record<string, string> };
  targetRef?: PolicyTargetRef;
  targetRefs?: PolicyTargetRef[];
}

/**
 * Istio's rules for `selector`, `targetRef` and `targetRefs`: at most one of them; targets of a
 * supported kind and group, in the policy's own namespace (GatewayClass: root namespace only).
 */
export function checkPolicyTargeting(
  spec: PolicyTargeting,
  metadata: ResourceMetadata | undefined,
  report: Reporter,
): void {
  const set = (["selector", "targetRef", "targetRefs"] as const).filter((k) => spec[k] !== undefined);
  if (set.length > 1) {
    report.error(
      "JIBE1022",
      ["spec", set[1]!],
      `only one of selector, targetRef or targetRefs may be set (found ${set.join(" and ")}); keep one`,
    );
  }
  checkLabels(spec.selector?.matchLabels, ["spec", "selector", "matchLabels"], report);
  if (spec.targetRef) checkTargetRef(spec.targetRef, ["spec", "targetRef"], metadata, report);
  spec.targetRefs?.forEach((ref, i) => {
    checkTargetRef(ref, ["spec", "targetRefs", i], metadata, report);
  });
  if (spec.targetRefs?.length === 0)
    report.error(
      "JIBE1013",
      ["spec", "targetRefs"],
      "targetRefs must not be empty; remove it or add a target",
    );
}

function checkTargetRef(
  ref: PolicyTargetRef,
  path: readonly PathSegment[],
  metadata: ResourceMetadata | undefined,
  report: Reporter,
): void {
  const group = TARGET_KINDS[ref.kind];
  if (group === undefined) {
    report.error(
      "JIBE1013",
      [...path, "kind"],
      `targetRef kind "${ref.kind}" is not supported; use one of ${Object.keys(TARGET_KINDS).join(", ")}`,
    );
    return;
  }
  if ((ref.group ?? "") !== group) {
    report.error(
      "JIBE1013",
      [...path, "group"],
      `targetRef group for kind ${ref.kind} must be ${group === "" ? '"" (core)' : `"${group}"`}`,
    );
  }
  if (ref.name === "") report.error("JIBE1012", [...path, "name"], "targetRef name must not be empty");
  const namespace = metadata?.namespace;
  if (ref.namespace !== undefined && namespace !== undefined && ref.namespace !== namespace) {
    report.error(
      "JIBE1013",
      [...path, "namespace"],
      `targetRef namespace "${ref.namespace}" differs from the policy's namespace "${namespace}"; cross-namespace targets are not allowed, create the policy in "${ref.namespace}"`,
    );
  }
  if (ref.kind === "GatewayClass" && namespace !== undefined && namespace !== ROOT_NAMESPACE) {
    report.error(
      "JIBE1013",
      [...path, "kind"],
      `a GatewayClass may only be targeted from the root namespace "${ROOT_NAMESPACE}"`,
    );
  }
}
