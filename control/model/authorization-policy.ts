import { z } from "zod";
import { policyTargetRefSchema, workloadSelectorSchema } from "./policy-target.ts";

/**
 * `security.istio.io` AuthorizationPolicy spec (v1 and v1beta1 are the same schema). Semantic
 * rules live in authorization-policy-checks.ts.
 */

const values = z.array(z.string()).optional();

export const authzSourceSchema = z.strictObject({
  principals: values,
  notPrincipals: values,
  requestPrincipals: values,
  notRequestPrincipals: values,
  namespaces: values,
  notNamespaces: values,
  serviceAccounts: values,
  notServiceAccounts: values,
  ipBlocks: values,
  notIpBlocks: values,
  remoteIpBlocks: values,
  notRemoteIpBlocks: values,
});
/** Istio `Source`: who sends the request. */
export type AuthzSourceSpec = z.infer<typeof authzSourceSchema>;

export const authzOperationSchema = z.strictObject({
  hosts: values,
  notHosts: values,
  ports: values,
  notPorts: values,
  methods: values,
  notMethods: values,
  paths: values,
  notPaths: values,
});
/** Istio `Operation`: what the request does. */
export type AuthzOperationSpec = z.infer<typeof authzOperationSchema>;

export const authzConditionSchema = z.strictObject({ key: z.string(), values, notValues: values });
/** Istio `Condition`: one `when` entry. */
export type AuthzConditionSpec = z.infer<typeof authzConditionSchema>;

export const authzRuleSchema = z.strictObject({
  from: z.array(z.strictObject({ source: authzSourceSchema.optional() })).optional(),
  to: z.array(z.strictObject({ operation: authzOperationSchema.optional() })).optional(),
  when: z.array(authzConditionSchema).optional(),
});
/** Istio `Rule`: from AND to AND when; within from/to, entries are OR. */
export type AuthzRuleSpec = z.infer<typeof authzRuleSchema>;

/** Actions in Istio's evaluation order: CUSTOM, then DENY, then ALLOW; AUDIT never decides. */
export const AUTHZ_ACTIONS = ["ALLOW", "DENY", "AUDIT", "CUSTOM"] as const;
export type AuthzAction = (typeof AUTHZ_ACTIONS)[number];

export const authorizationPolicySpecSchema = z.strictObject({
  selector: workloadSelectorSchema.optional(),
  targetRef: policyTargetRefSchema.optional(),
  targetRefs: z.array(policyTargetRefSchema).optional(),
  rules: z.array(authzRuleSchema).optional(),
  action: z.enum(AUTHZ_ACTIONS).optional(),
  provider: z.strictObject({ name: z.string().optional() }).optional(),
});
/** A validated AuthorizationPolicy spec. */
export type AuthorizationPolicySpec = z.infer<typeof authorizationPolicySpecSchema>;

/** Annotation that makes a policy evaluated and reported but not enforced (Istio's dry-run). */
export const DRY_RUN_ANNOTATION = "istio.io/dry-run";

/** True when the annotations ask for dry-run (`"true"`, case-insensitive, as Istio parses it). */
export function isDryRun(annotations: Readonly<Record<string, string>> | undefined): boolean {
  return annotations?.[DRY_RUN_ANNOTATION]?.toLowerCase() === "true";
}
