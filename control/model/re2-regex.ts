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
  const checked = checkRe2(pattern);
  if (!checked.ok) return checked;
  return buildRegExp(`^(?:${checked.source})$`, checked.flags);
}

/**
 * Splits a pattern into the literal text every full match starts with and the rest, or undefined
 * when it has no such literal (or the rest could not be tested on its own: `^`, `\b`, `\B`).
 * The whole value matches the pattern exactly when it starts with `literal` and the text after it
 * matches `rest` ({@link compileRe2Tail}). Thousands of route regexes that differ only in their
 * literal start (`/t1/items/[0-9]+`, `/t2/items/[0-9]+`, ...) so share one compiled tail.
 *
 * @example
 * ```ts
 * splitLiteralPrefix("/items/[0-9]+"); // { literal: "/items/", rest: "[0-9]+" }
 * splitLiteralPrefix("/ab+");          // { literal: "/a", rest: "b+" }
 * ```
 */
export function splitLiteralPrefix(pattern: string): { literal: string; rest: string } | undefined {
  let literal = regexLiteralPrefix(pattern);
  // "/ab+": the quantified "b" belongs to the rest.
  if (pattern[literal.length] === "+") literal = literal.slice(0, -1);
  const rest = pattern.slice(literal.length);
  if (literal === "" || /\\[bB]|\^/.test(rest)) return undefined;
  return { literal, rest };
}

/**
 * Compiles the rest of a split pattern ({@link splitLiteralPrefix}) as a sticky RegExp: set
 * `lastIndex` to the literal's length, then `test` the whole value. "" matches only the end.
 *
 * @example
 * ```ts
 * const r = compileRe2Tail("[0-9]+");
 * if (r.ok) { r.regexp.lastIndex = 7; r.regexp.test("/items/42"); } // true
 * ```
 */
export function compileRe2Tail(rest: string): Re2CompileResult {
  if (rest === "") return buildRegExp("$", "y");
  const checked = checkRe2(rest);
  if (!checked.ok) return checked;
  return buildRegExp(`(?:${checked.source})$`, `${checked.flags}y`);
}

/**
 * The literal text every full match of `pattern` starts with ("" when unknown). Conservative: a
 * pattern with `|` anywhere has none; a character followed by `?`, `*` or `{` is not required.
 *
 * @example
 * ```ts
 * regexLiteralPrefix("/items/[0-9]+"); // "/items/"
 * ```
 */
export function regexLiteralPrefix(pattern: string): string {
  if (pattern.includes("|")) return "";
  let end = 0;
  while (end < pattern.length && !"\\.[](){}*+?|^$".includes(pattern[end] as string)) end++;
  const next = pattern[end];
  if (next === "?" || next === "*" || next === "{") end = Math.max(0, end - 1);
  return pattern.slice(0, end);
}

type Checked = { ok: true; source: string; flags: string } | { ok: false; reason: string };

/** What RE2 would reject, and the RE2-only spellings translated to JavaScript. */
function checkRe2(pattern: string): Checked {
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
  return { ok: true, source, flags };
}

function buildRegExp(source: string, flags: string): Re2CompileResult {
  try {
    return { ok: true, regexp: new RegExp(source, flags) };
  } catch (error) {
    return { ok: false, reason: error instanceof Error ? error.message : String(error) };
  }
}
