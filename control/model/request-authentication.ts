import { z } from "zod";
import type { ResourceMetadata } from "../../broker/events.ts";
import type { PathSegment, Reporter } from "./diagnostics.ts";
import { checkDuration, checkHeaderName, durationSchema } from "./istio-fields.ts";
import { checkPolicyTargeting, policyTargetRefSchema, workloadSelectorSchema } from "./policy-target.ts";

/** `security.istio.io` RequestAuthentication spec: which JWTs a workload accepts. */

export const jwtRuleSchema = z.strictObject({
  issuer: z.string().optional(),
  audiences: z.array(z.string()).optional(),
  jwksUri: z.string().optional(),
  jwks: z.string().optional(),
  fromHeaders: z.array(z.strictObject({ name: z.string(), prefix: z.string().optional() })).optional(),
  fromParams: z.array(z.string()).optional(),
  fromCookies: z.array(z.string()).optional(),
  outputPayloadToHeader: z.string().optional(),
  forwardOriginalToken: z.boolean().optional(),
  outputClaimToHeaders: z.array(z.strictObject({ header: z.string(), claim: z.string() })).optional(),
  timeout: durationSchema.optional(),
});
/** Istio `JWTRule`. */
export type JwtRuleSpec = z.infer<typeof jwtRuleSchema>;

export const requestAuthenticationSpecSchema = z.strictObject({
  selector: workloadSelectorSchema.optional(),
  targetRef: policyTargetRefSchema.optional(),
  targetRefs: z.array(policyTargetRefSchema).optional(),
  jwtRules: z.array(jwtRuleSchema).optional(),
});
/** A validated RequestAuthentication spec. */
export type RequestAuthenticationSpec = z.infer<typeof requestAuthenticationSpecSchema>;

/**
 * Istio's rules for RequestAuthentication: an issuer per rule, `jwks` or `jwksUri` (not both; an
 * http(s) URL; inline keys parse as a JWKS), valid header names and non-empty claims. Jibe does
 * not do OpenID discovery, so one of `jwks`/`jwksUri` is required.
 */
export function checkRequestAuthentication(
  spec: RequestAuthenticationSpec,
  report: Reporter,
  metadata?: ResourceMetadata,
): void {
  checkPolicyTargeting(spec, metadata, report);
  const issuers = new Map<string, number>();
  spec.jwtRules?.forEach((rule, i) => {
    const path = ["spec", "jwtRules", i];
    if (!rule.issuer) {
      report.error("JIBE1012", [...path, "issuer"], 'issuer is required, e.g. "https://accounts.google.com"');
    } else {
      const first = issuers.get(rule.issuer);
      if (first !== undefined)
        report.error(
          "JIBE1018",
          [...path, "issuer"],
          `issuer "${rule.issuer}" is also configured by jwtRules[${first}]; merge the rules`,
        );
      else issuers.set(rule.issuer, i);
    }
    checkKeySource(rule, path, report);
    rule.audiences?.forEach((aud, j) => {
      if (aud === "") report.error("JIBE1013", [...path, "audiences", j], "audience must not be empty");
    });
    rule.fromHeaders?.forEach((h, j) => {
      checkHeaderName(h.name, [...path, "fromHeaders", j, "name"], report);
    });
    rule.fromParams?.forEach((p, j) => {
      if (p === "")
        report.error("JIBE1013", [...path, "fromParams", j], "query parameter name must not be empty");
    });
    rule.fromCookies?.forEach((c, j) => {
      if (c === "") report.error("JIBE1013", [...path, "fromCookies", j], "cookie name must not be empty");
    });
    if (rule.outputPayloadToHeader !== undefined)
      checkHeaderName(rule.outputPayloadToHeader, [...path, "outputPayloadToHeader"], report);
    rule.outputClaimToHeaders?.forEach((o, j) => {
      checkHeaderName(o.header, [...path, "outputClaimToHeaders", j, "header"], report);
      if (o.claim === "")
        report.error("JIBE1012", [...path, "outputClaimToHeaders", j, "claim"], "claim must not be empty");
    });
    checkDuration(rule.timeout, [...path, "timeout"], report);
  });
}

function checkKeySource(rule: JwtRuleSpec, path: readonly PathSegment[], report: Reporter): void {
  if (rule.jwks !== undefined && rule.jwksUri !== undefined) {
    report.error("JIBE1022", [...path, "jwks"], "set only one of jwks or jwksUri");
    return;
  }
  if (rule.jwksUri !== undefined) {
    if (!/^https?:\/\/[^\s/]+/.test(rule.jwksUri))
      report.error(
        "JIBE1025",
        [...path, "jwksUri"],
        `jwksUri "${rule.jwksUri}" must be an http(s) URL, e.g. "https://example.com/.well-known/jwks.json"`,
      );
    return;
  }
  if (rule.jwks === undefined) {
    report.error(
      "JIBE1025",
      [...path, "jwksUri"],
      "set jwksUri or inline jwks (Jibe does not discover keys from the issuer's OpenID configuration)",
    );
    return;
  }
  const problem = jwksProblem(rule.jwks);
  if (problem) report.error("JIBE1025", [...path, "jwks"], problem);
}

/** Why an inline JWKS is unusable, or undefined. */
export function jwksProblem(text: string): string | undefined {
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch {
    return 'jwks is not JSON; give a JWK Set such as {"keys": [...]}';
  }
  const keys = (parsed as { keys?: unknown } | null)?.keys;
  if (!Array.isArray(keys) || keys.length === 0) return 'jwks must be a JWK Set with a non-empty "keys" list';
  const bad = keys.findIndex((k) => typeof k !== "object" || k === null || typeof k.kty !== "string");
  if (bad !== -1) return `jwks keys[${bad}] is not a JWK (needs "kty")`;
  return undefined;
}
