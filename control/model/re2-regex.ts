/**
 * Istio and Envoy evaluate regexes with RE2; Jibe evaluates them with JavaScript RegExp. This module
 * is the one place that bridges the two: it rejects what RE2 rejects (lookaround, backreferences),
 * translates the common RE2-only spellings (`(?P<name>...)`, a leading `(?i)`), and anchors the
 * pattern so it must match the whole value, as Envoy's `safe_regex` does.
 */

/** Result of {@link compileRe2}. */
export type Re2CompileResult = { ok: true; regexp: RegExp } | { ok: false; reason: string };

const RE2_UNSUPPORTED: ReadonlyArray<[RegExp, string]> = [
  [/\(\?<?[=!]/, "lookahead/lookbehind assertions"],
  [/\\[1-9]/, "backreferences such as \\1"],
  [/\\k</, "named backreferences"],
];

/** Istio's limit on regex length (a stand-in for RE2's program size limit). */
export const MAX_REGEX_LENGTH = 1024;

/**
 * Compiles an RE2-style pattern into an anchored RegExp (full-string match).
 *
 * @example
 * ```ts
 * const r = compileRe2("/api/v[0-9]+/.*");
 * r.ok && r.regexp.test("/api/v1/products"); // true
 * r.ok && r.regexp.test("/x/api/v1/");       // false: the whole path must match
 * ```
 */
export function compileRe2(pattern: string): Re2CompileResult {
  if (pattern.length === 0) return { ok: false, reason: "the regex is empty" };
  if (pattern.length > MAX_REGEX_LENGTH) {
    return {
      ok: false,
      reason: `the regex is ${pattern.length} characters; the maximum is ${MAX_REGEX_LENGTH}`,
    };
  }
  for (const [construct, name] of RE2_UNSUPPORTED) {
    if (construct.test(pattern))
      return { ok: false, reason: `RE2 (used by Istio and Envoy) does not support ${name}` };
  }
  let source = pattern.replace(/\(\?P</g, "(?<");
  let flags = "";
  if (source.startsWith("(?i)")) {
    source = source.slice(4);
    flags = "i";
  }
  try {
    return { ok: true, regexp: new RegExp(`^(?:${source})$`, flags) };
  } catch (error) {
    return { ok: false, reason: error instanceof Error ? error.message : String(error) };
  }
}
