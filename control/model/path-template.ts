/**
 * AuthorizationPolicy `paths` values: exact (`/data`), prefix (`/info*`), suffix (`*.html`),
 * presence (`*`), or an Envoy URI template using `{*}` (one path segment) and `{**}` (zero or more
 * characters, across segments). Pure; shared by validation and the engine.
 */

const OPERATOR = /\{\*\*?\}/g;
const MAX_OPERATORS = 5;

/** True when `path` uses `{*}` or `{**}`, i.e. is read as a URI template. */
export function isPathTemplate(path: string): boolean {
  return path.includes("{*}") || path.includes("{**}");
}

/**
 * Why a path template is invalid (Istio's rules), or undefined. Non-template paths are always valid.
 *
 * @example
 * ```ts
 * pathTemplateProblem("/foo/{*}/bar/{**}"); // undefined
 * pathTemplateProblem("/{**}/foo/{*}");     // "{**} must be the last operator ..."
 * ```
 */
export function pathTemplateProblem(path: string): string | undefined {
  if (!isPathTemplate(path)) return undefined;
  if (!path.startsWith("/")) return 'a path template must start with "/"';
  const operators: string[] = path.match(OPERATOR) ?? [];
  if (path.replace(OPERATOR, "").match(/[*{}]/)) {
    return `"*", "{" and "}" may only appear as the operators {*} and {**}; e.g. use "/foo/{*}/bar" instead of "/foo/*/bar"`;
  }
  if (operators.length > MAX_OPERATORS) return `at most ${MAX_OPERATORS} {*}/{**} operators are allowed`;
  const doubleAt = operators.indexOf("{**}");
  if (doubleAt !== -1 && doubleAt !== operators.length - 1) {
    return "{**} must be the last operator in the path; move it to the end or use {*}";
  }
  for (const segment of path.split("/")) {
    if (isPathTemplate(segment) && segment !== "{*}" && segment !== "{**}") {
      return `segment "${segment}" mixes an operator with other characters; an operator must be a whole path segment, e.g. "/foo/{*}"`;
    }
  }
  return undefined;
}

/**
 * A regular expression source (anchored) for a valid template: `{*}` matches one non-empty
 * segment, `{**}` any characters including `/`.
 *
 * @example
 * ```ts
 * new RegExp(pathTemplateRegex("/foo/{*}")).test("/foo/bar"); // true
 * ```
 */
export function pathTemplateRegex(path: string): string {
  let out = "^";
  let last = 0;
  for (const match of path.matchAll(OPERATOR)) {
    out += escapeRegex(path.slice(last, match.index));
    out += match[0] === "{**}" ? ".*" : "[^/]+";
    last = match.index + match[0].length;
  }
  return `${out}${escapeRegex(path.slice(last))}$`;
}

function escapeRegex(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");
}
