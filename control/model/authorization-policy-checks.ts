import type { ResourceMetadata } from "../../broker/events.ts";
import type {
  AuthorizationPolicySpec,
  AuthzConditionSpec,
  AuthzOperationSpec,
  AuthzSourceSpec,
} from "./authorization-policy.ts";
import { DRY_RUN_ANNOTATION } from "./authorization-policy.ts";
import { CONDITION_KEYS, parseConditionKey } from "./authz-condition-key.ts";
import type { PathSegment, Reporter } from "./diagnostics.ts";
import { parseIpBlock } from "./ip-block.ts";
import { pathTemplateProblem } from "./path-template.ts";
import { checkPolicyTargeting } from "./policy-target.ts";

const MAX_SERVICE_ACCOUNTS = 16;

/**
 * Istio's semantic rules for an AuthorizationPolicy, beyond the schema: targeting, CUSTOM needs a
 * provider (and only CUSTOM may have one), non-empty `from`/`to`/`source`/`operation`,
 * `serviceAccounts` never with `principals` or `namespaces`, valid IP blocks, ports, path
 * templates and `when` keys.
 */
export function checkAuthorizationPolicy(
  spec: AuthorizationPolicySpec,
  report: Reporter,
  metadata?: ResourceMetadata,
): void {
  checkPolicyTargeting(spec, metadata, report);
  const action = spec.action ?? "ALLOW";
  if (action === "CUSTOM") {
    if (!spec.provider)
      report.error(
        "JIBE1012",
        ["spec", "provider"],
        "action CUSTOM needs provider: { name: <extension provider> }",
      );
    else if (!spec.provider.name)
      report.error("JIBE1012", ["spec", "provider", "name"], "provider name is required for action CUSTOM");
    if (spec.rules === undefined)
      report.error(
        "JIBE1012",
        ["spec", "rules"],
        "a CUSTOM policy without rules never triggers; add rules: [{}] to send every request to the provider",
      );
  } else if (spec.provider) {
    report.error(
      "JIBE1022",
      ["spec", "provider"],
      `provider is only allowed with action CUSTOM (action is ${action}); remove it or set action: CUSTOM`,
    );
  }
  const dryRun = metadata?.annotations?.[DRY_RUN_ANNOTATION];
  if (dryRun !== undefined && !/^(true|false)$/i.test(dryRun)) {
    report.error(
      "JIBE1006",
      ["metadata", "annotations", DRY_RUN_ANNOTATION],
      `annotation ${DRY_RUN_ANNOTATION} must be "true" or "false", got "${dryRun}"`,
    );
  } else if (dryRun?.toLowerCase() === "true" && (action === "CUSTOM" || action === "AUDIT")) {
    report.warn(
      "JIBE1013",
      ["metadata", "annotations", DRY_RUN_ANNOTATION],
      `dry-run applies to ALLOW and DENY policies only; this ${action} policy is ignored while it is set`,
    );
  }
  spec.rules?.forEach((rule, r) => {
    const base = ["spec", "rules", r];
    if (rule.from?.length === 0)
      report.error("JIBE1013", [...base, "from"], "from must not be empty; remove it or add a source");
    rule.from?.forEach((from, i) => {
      const path = [...base, "from", i, "source"];
      if (!from.source) report.error("JIBE1012", path, "each from entry needs a source");
      else checkSource(from.source, path, report);
    });
    if (rule.to?.length === 0)
      report.error("JIBE1013", [...base, "to"], "to must not be empty; remove it or add an operation");
    rule.to?.forEach((to, i) => {
      const path = [...base, "to", i, "operation"];
      if (!to.operation) report.error("JIBE1012", path, "each to entry needs an operation");
      else checkOperation(to.operation, path, report);
    });
    rule.when?.forEach((condition, i) => {
      checkCondition(condition, [...base, "when", i], report);
    });
  });
}

function checkSource(source: AuthzSourceSpec, path: readonly PathSegment[], report: Reporter): void {
  if (Object.values(source).every((v) => v === undefined || v.length === 0)) {
    report.error("JIBE1012", path, "source is empty; set at least one field, e.g. principals or namespaces");
    return;
  }
  const accounts = [...(source.serviceAccounts ?? []), ...(source.notServiceAccounts ?? [])];
  const identities = [source.principals, source.notPrincipals, source.namespaces, source.notNamespaces];
  if (accounts.length > 0 && identities.some((v) => v !== undefined && v.length > 0)) {
    report.error(
      "JIBE1022",
      [...path, source.serviceAccounts ? "serviceAccounts" : "notServiceAccounts"],
      "serviceAccounts cannot be used together with principals or namespaces (or their not* forms); use one way to name the caller",
    );
  }
  for (const field of ["serviceAccounts", "notServiceAccounts"] as const) {
    const list = source[field] ?? [];
    if (list.length > MAX_SERVICE_ACCOUNTS)
      report.error(
        "JIBE1013",
        [...path, field],
        `at most ${MAX_SERVICE_ACCOUNTS} service accounts are allowed`,
      );
    list.forEach((account, i) => {
      if (!/^[a-z0-9]([-a-z0-9]*[a-z0-9])?\/[a-z0-9]([-a-z0-9.]*[a-z0-9])?$/.test(account))
        report.error(
          "JIBE1013",
          [...path, field, i],
          `service account "${account}" must be <namespace>/<name>, e.g. "default/sleep"`,
        );
    });
  }
  for (const field of ["ipBlocks", "notIpBlocks", "remoteIpBlocks", "notRemoteIpBlocks"] as const) {
    source[field]?.forEach((block, i) => {
      if (!parseIpBlock(block))
        report.error(
          "JIBE1024",
          [...path, field, i],
          `"${block}" is not an IP address or CIDR block; use e.g. "10.0.0.0/8" or "2001:db8::/32"`,
        );
    });
  }
  checkNoEmptyValues(source, path, report);
}

function checkOperation(operation: AuthzOperationSpec, path: readonly PathSegment[], report: Reporter): void {
  if (Object.values(operation).every((v) => v === undefined || v.length === 0)) {
    report.error("JIBE1012", path, "operation is empty; set at least one field, e.g. methods or paths");
    return;
  }
  for (const field of ["ports", "notPorts"] as const) {
    operation[field]?.forEach((port, i) => {
      if (!isPort(port))
        report.error("JIBE1013", [...path, field, i], `port "${port}" must be a number between 1 and 65535`);
    });
  }
  for (const field of ["paths", "notPaths"] as const) {
    operation[field]?.forEach((value, i) => {
      const problem = pathTemplateProblem(value);
      if (problem) report.error("JIBE1023", [...path, field, i], `path template "${value}": ${problem}`);
      else if (/.\*./.test(value) && !value.includes("{"))
        report.warn(
          "JIBE1023",
          [...path, field, i],
          `"${value}" has "*" in the middle, which matches only that literal text; use a prefix ("/a*"), suffix ("*.b") or template ("/a/{*}/b")`,
        );
    });
  }
  checkNoEmptyValues(operation, path, report);
}

function checkCondition(condition: AuthzConditionSpec, path: readonly PathSegment[], report: Reporter): void {
  const key = parseConditionKey(condition.key);
  if (!key) {
    report.error(
      "JIBE1026",
      [...path, "key"],
      `unknown condition key "${condition.key}"; use one of ${CONDITION_KEYS.join(", ")}`,
    );
    return;
  }
  const all = [...(condition.values ?? []), ...(condition.notValues ?? [])];
  if (all.length === 0) {
    report.error("JIBE1012", path, `condition "${condition.key}" needs values or notValues`);
    return;
  }
  for (const field of ["values", "notValues"] as const) {
    condition[field]?.forEach((value, i) => {
      if ("ip" in key && !parseIpBlock(value))
        report.error(
          "JIBE1024",
          [...path, field, i],
          `"${value}" is not an IP address or CIDR block (key ${condition.key})`,
        );
      else if (key.attribute === "destination.port" && !isPort(value))
        report.error("JIBE1013", [...path, field, i], `"${value}" is not a port number between 1 and 65535`);
    });
  }
  checkNoEmptyValues(condition, path, report);
}

function checkNoEmptyValues(
  fields: Readonly<Record<string, unknown>>,
  path: readonly PathSegment[],
  report: Reporter,
): void {
  for (const [field, list] of Object.entries(fields)) {
    if (!Array.isArray(list)) continue;
    list.forEach((value, i) => {
      if (value === "")
        report.error("JIBE1013", [...path, field, i], `empty value in ${field}; remove it or give a value`);
    });
  }
}

function isPort(value: string): boolean {
  return /^\d{1,5}$/.test(value) && Number(value) >= 1 && Number(value) <= 65535;
}
