import type { RewritePolicy, UriRewrite } from "../../control/compile/snapshot.ts";
import { compileRe2 } from "../../control/model/re2-regex.ts";

/** What a rewrite changes: the origin-form path (with query) and the authority sent upstream. */
export interface RewrittenTarget {
  path: string;
  authority: string;
}

/**
 * Applies a route's rewrite (Istio `HTTPRewrite`) to the request target; the query string is
 * always kept. See {@link UriRewrite} for the three kinds of uri rewrite.
 *
 * @example
 * ```ts
 * rewriteRequest({ path: "/v1/ratings/0?x=1", authority: "ratings:9080" },
 *   { uri: { kind: "prefix", prefix: "/v1/", replacement: "/" }, authority: "ratings-v1" });
 * // { path: "/ratings/0?x=1", authority: "ratings-v1" }
 * ```
 */
export function rewriteRequest(target: RewrittenTarget, rewrite: RewritePolicy | undefined): RewrittenTarget {
  if (!rewrite) return target;
  return {
    path: rewrite.uri ? rewritePath(target.path, rewrite.uri) : target.path,
    authority: rewrite.authority ?? target.authority,
  };
}

/** Rewrites the path part of an origin-form target (`/path?query`), keeping the query. */
export function rewritePath(target: string, uri: UriRewrite): string {
  const q = target.indexOf("?");
  const path = q < 0 ? target : target.slice(0, q);
  const query = q < 0 ? "" : target.slice(q);
  return `${rewriteBarePath(path, uri)}${query}`;
}

function rewriteBarePath(path: string, uri: UriRewrite): string {
  switch (uri.kind) {
    case "path":
      return uri.replacement;
    case "prefix": {
      const head = path.slice(0, uri.prefix.length);
      const matches = uri.ignoreCase ? head.toLowerCase() === uri.prefix.toLowerCase() : head === uri.prefix;
      if (!matches) return path;
      const rest = path.slice(uri.prefix.length);
      // Istio: rewriting a prefix to "/" must not produce "//rest".
      if (uri.replacement === "/" && uri.prefix !== "/") return `/${rest.replace(/^\/+/, "")}`;
      return `${uri.replacement}${rest}`;
    }
    case "regex": {
      const regexp = globalRegex(uri.pattern);
      // RE2 writes groups as \1; JavaScript as $1 (and a literal $ as $$).
      const substitution = uri.substitution.replace(/\$/g, "$$$$").replace(/\\(\d)/g, "$$$1");
      return regexp ? path.replace(regexp, substitution) : path;
    }
    default: {
      const _exhaustive: never = uri;
      return String(_exhaustive);
    }
  }
}

/** The pattern as an unanchored global RegExp (Envoy's regex_rewrite replaces every match). */
function globalRegex(pattern: string): RegExp | undefined {
  const checked = compileRe2(pattern);
  if (!checked.ok) return undefined;
  // compileRe2 anchors the pattern as ^(?:…)$ for matching; a rewrite needs it unanchored.
  const source = checked.regexp.source.slice(4, -2);
  return new RegExp(source, `${checked.regexp.flags}g`);
}
