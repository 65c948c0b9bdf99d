import { z } from "zod";
import type { PathSegment, Reporter } from "./diagnostics.ts";
import { durationProblem } from "./duration.ts";
import { labelKeyProblem, labelValueProblem } from "./names.ts";
import { compileRe2 } from "./re2-regex.ts";

/** Shapes shared by several Istio kinds, plus the checks zod cannot express. */

export const stringMapSchema = z.record(z.string(), z.string());

/** Istio `StringMatch`: one of exact, prefix, regex; `{}` means "present" where Istio allows it. */
export const stringMatchSchema = z.strictObject({
  exact: z.string().optional(),
  prefix: z.string().optional(),
  regex: z.string().optional(),
});
export type IstioStringMatch = z.infer<typeof stringMatchSchema>;

export const percentSchema = z.strictObject({ value: z.number() });
export const durationSchema = z.string();
export const portSelectorSchema = z.strictObject({ number: z.number().int() });

/** Istio `Destination`: a service host, optional subset and port. */
export const destinationSchema = z.strictObject({
  host: z.string(),
  subset: z.string().optional(),
  port: portSelectorSchema.optional(),
});
export type IstioDestination = z.infer<typeof destinationSchema>;

const headerOperationsSchema = z.strictObject({
  set: stringMapSchema.optional(),
  add: stringMapSchema.optional(),
  remove: z.array(z.string()).optional(),
});
export const headersSchema = z.strictObject({
  request: headerOperationsSchema.optional(),
  response: headerOperationsSchema.optional(),
});

/** Checks a StringMatch: one matcher only, non-empty prefix where Envoy needs it, compiling regex. */
export function checkStringMatch(
  match: IstioStringMatch | undefined,
  path: readonly PathSegment[],
  report: Reporter,
  opts: { allowEmpty?: boolean; allowEmptyPrefix?: boolean } = {},
): void {
  if (!match) return;
  const set = (["exact", "prefix", "regex"] as const).filter((k) => match[k] !== undefined);
  if (set.length > 1) {
    report.error(
      "JIBE1013",
      path,
      `use only one of exact, prefix or regex (found ${set.join(" and ")}); split them into separate match entries`,
    );
  }
  if (set.length === 0 && !opts.allowEmpty) {
    report.error("JIBE1012", path, "the match is empty; set one of exact, prefix or regex");
  }
  if (match.prefix === "" && !opts.allowEmptyPrefix) {
    report.error(
      "JIBE1013",
      [...path, "prefix"],
      'prefix must not be empty; remove the matcher or give a prefix such as "/"',
    );
  }
  if (match.regex !== undefined) checkRegex(match.regex, [...path, "regex"], report);
}

/** Checks that a regex compiles and stays within RE2's feature set. */
export function checkRegex(pattern: string, path: readonly PathSegment[], report: Reporter): void {
  const result = compileRe2(pattern);
  if (!result.ok) {
    report.error(
      "JIBE1014",
      path,
      `regex ${JSON.stringify(pattern)} is invalid: ${result.reason}; fix the pattern (RE2 syntax)`,
    );
  }
}

/** Checks a duration string (format, >= 1ms, ms precision). */
export function checkDuration(
  value: string | undefined,
  path: readonly PathSegment[],
  report: Reporter,
): void {
  if (value === undefined) return;
  const problem = durationProblem(value);
  if (problem) report.error("JIBE1019", path, problem);
}

/** Checks a port number is 1..65535. */
export function checkPort(port: number | undefined, path: readonly PathSegment[], report: Reporter): void {
  if (port !== undefined && (port < 1 || port > 65535)) {
    report.error("JIBE1013", path, `port ${port} is out of range; use a port between 1 and 65535`);
  }
}

/** Checks Kubernetes label keys and values. */
export function checkLabels(
  labels: Record<string, string> | undefined,
  path: readonly PathSegment[],
  report: Reporter,
): void {
  for (const [key, value] of Object.entries(labels ?? {})) {
    const problem = labelKeyProblem(key) ?? labelValueProblem(value);
    if (problem) report.error("JIBE1013", [...path, key], problem);
  }
}

/** Checks an Istio Percent (0, or 0.0001..100). */
export function checkPercent(
  value: number | undefined,
  path: readonly PathSegment[],
  report: Reporter,
): void {
  if (value === undefined) return;
  if (value < 0 || value > 100 || (value > 0 && value < 0.0001)) {
    report.error(
      "JIBE1013",
      path,
      `percentage ${value} is out of range; use 0 or a value between 0.0001 and 100`,
    );
  }
}

const HEADER_NAME = /^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$/;

/** Checks an HTTP header name is a valid token. */
export function checkHeaderName(name: string, path: readonly PathSegment[], report: Reporter): void {
  if (!HEADER_NAME.test(name)) {
    report.error(
      "JIBE1013",
      path,
      `header name "${name}" is invalid; use letters, digits and '-', e.g. "x-user-id"`,
    );
  }
}
