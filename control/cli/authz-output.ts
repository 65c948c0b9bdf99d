import type { AuthzMatch, AuthzReason, AuthzVerdict } from "../../workers/engine/authz-facts.ts";
import type { AuthzCheckResult } from "../admin/authz-check.ts";

/**
 * How `jibe authz check` prints its answer: the verdict first, then who decided and what AUDIT and
 * dry-run policies report. Pure.
 *
 * @example
 * ```ts
 * formatAuthzCheck(result);
 * // "DENY (403 RBAC: access denied)\ndecided by: AuthorizationPolicy/default/deny-delete rule 0: a DENY policy matched\n..."
 * ```
 */
export function formatAuthzCheck(result: AuthzCheckResult): string {
  const lines = [`${verdictWord(result.allowed)} (${statusText(result.status)})`];
  if (result.reason === "jwt-rejected") {
    const authn = result.authentication;
    const why = authn.kind === "rejected" ? `${authn.reason}${authn.rule ? ` (${authn.rule})` : ""}` : "";
    lines.push(`decided by: RequestAuthentication: the JWT was rejected: ${why}`);
  } else {
    const by = result.match ? `${matchText(result.match)}: ` : "";
    lines.push(`decided by: ${by}${reasonText(result.reason, result.provider)}`);
  }
  if (result.authentication.kind === "authenticated")
    lines.push(`request principal: ${result.authentication.principal}`);
  if (result.audit) lines.push(`audit: ${matchText(result.audit)}`);
  if (result.dryRun) lines.push(`dry-run: would ${dryRunText(result.dryRun)}`);
  lines.push(
    result.policies.length === 0
      ? "policies: none apply to this workload"
      : `policies: ${result.policies.map((p) => `${p.ref} (${p.action}${p.dryRun ? ", dry-run" : ""}${p.failClosed ? ", invalid: fails closed" : ""})`).join(", ")}`,
  );
  lines.push(`revision: ${result.revision}`);
  return `${lines.join("\n")}\n`;
}

function verdictWord(allowed: boolean): string {
  return allowed ? "ALLOW" : "DENY";
}

function statusText(status: AuthzCheckResult["status"]): string {
  switch (status) {
    case 200:
      return "the request is passed to the workload";
    case 401:
      return "401 Jwt verification fails";
    case 403:
      return "403 RBAC: access denied";
    default: {
      const never: never = status;
      return String(never);
    }
  }
}

function matchText(match: AuthzMatch): string {
  return `${match.policy} rule ${match.rule}`;
}

function dryRunText(verdict: AuthzVerdict): string {
  const by = verdict.match ? `${matchText(verdict.match)}: ` : "";
  return `${verdictWord(verdict.allowed)} (${by}${reasonText(verdict.reason, verdict.provider)})`;
}

function reasonText(reason: AuthzReason, provider: string | undefined): string {
  switch (reason) {
    case "no-policy":
      return "no AuthorizationPolicy applies to this workload";
    case "custom":
      return `a CUSTOM policy matched: its external authorizer${provider ? ` (provider ${provider})` : ""} decides, and the check does not call it (shown as denied)`;
    case "deny":
      return "a DENY policy matched";
    case "no-allow-policy":
      return "no DENY policy matched and no ALLOW policy applies";
    case "allow":
      return "an ALLOW policy matched";
    case "no-allow-match":
      return "ALLOW policies apply and none matched";
    default: {
      const never: never = reason;
      return String(never);
    }
  }
}
