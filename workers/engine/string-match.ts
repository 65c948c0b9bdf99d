import type { StringMatch } from "../../control/compile/snapshot.ts";
import { compileRe2, compileRe2Tail, splitLiteralPrefix } from "../../control/model/re2-regex.ts";

/** A compiled matcher over one string value. */
export type ValueMatcher = (value: string) => boolean;

/**
 * Compiles an Istio StringMatch once: exact, prefix, or a regex that must match the whole value
 * (Envoy's `safe_regex` semantics). `ignoreCase` applies to exact and prefix only, as Envoy's
 * `case_sensitive: false` does. A regex that does not compile never matches (fails closed).
 *
 * @example
 * ```ts
 * const m = compileStringMatch({ prefix: "/api" });
 * m("/api/v1"); // true
 * ```
 */
export function compileStringMatch(match: StringMatch, ignoreCase = false): ValueMatcher {
  if ("exact" in match) {
    const expected = ignoreCase ? match.exact.toLowerCase() : match.exact;
    return ignoreCase ? (v) => v.toLowerCase() === expected : (v) => v === expected;
  }
  if ("prefix" in match) {
    const prefix = ignoreCase ? match.prefix.toLowerCase() : match.prefix;
    return ignoreCase ? (v) => v.toLowerCase().startsWith(prefix) : (v) => v.startsWith(prefix);
  }
  const compiled = compileRe2(match.regex);
  if (!compiled.ok) return () => false;
  // A literal start is compared as a string and only the rest runs as a regex: route regexes that
  // differ only in their literal share one compiled tail (V8 caches by source), instead of each
  // being compiled and tiered up on its own.
  const split = splitLiteralPrefix(match.regex);
  const tail = split && compileRe2Tail(split.rest);
  if (split && tail?.ok) {
    const { literal } = split;
    if (split.rest === "") return (v) => v === literal;
    const rest = tail.regexp;
    return (v) => {
      if (!v.startsWith(literal)) return false;
      rest.lastIndex = literal.length;
      return rest.test(v);
    };
  }
  const regexp = compiled.regexp;
  return (v) => regexp.test(v);
}
