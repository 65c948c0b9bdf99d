/**
 * The small subset of Istio's CEL attribute expressions a Telemetry resource may use: tag override
 * values (`request.host`, `request.headers['x-user']`, `'literal'`) and access-log filters
 * (`response.code >= 400 && request.method != 'GET'`). Pure: parsing here, evaluation against any
 * attribute source; validation rejects what cannot be evaluated instead of ignoring it at runtime.
 */

/** Attributes an expression can read (Istio/Envoy attribute names). */
export const TELEMETRY_ATTRIBUTES = [
  "request.host",
  "request.method",
  "request.path",
  "request.url_path",
  "request.scheme",
  "request.protocol",
  "request.id",
  "response.code",
  "response.flags",
  "destination.port",
  "upstream.cluster",
] as const;

/** One of {@link TELEMETRY_ATTRIBUTES}. */
export type TelemetryAttribute = (typeof TELEMETRY_ATTRIBUTES)[number];

/** A parsed value expression. */
export type ValueExpression =
  | { kind: "literal"; value: string | number }
  | { kind: "attribute"; name: TelemetryAttribute }
  | { kind: "header"; name: string };

/** Comparison operators of a filter. */
export type ComparisonOperator = "==" | "!=" | ">=" | "<=" | ">" | "<";

/** A parsed access-log filter. */
export type FilterExpression =
  | { kind: "compare"; left: ValueExpression; op: ComparisonOperator; right: ValueExpression }
  | { kind: "and" | "or"; left: FilterExpression; right: FilterExpression };

/** What an expression reads; undefined = the attribute is absent. */
export interface AttributeSource {
  attribute(name: TelemetryAttribute): string | number | undefined;
  /** A request header, lower-case name. */
  header(name: string): string | undefined;
}

/** A parse result: the expression, or why it is not accepted (a message for the user). */
export type Parsed<T> = { ok: true; expression: T } | { ok: false; problem: string };

const ATTRIBUTE_SET: ReadonlySet<string> = new Set(TELEMETRY_ATTRIBUTES);
const HEADER = /^request\.headers\[\s*(?:'([^']*)'|"([^"]*)")\s*\]$/;
const LITERAL = /^(?:'([^']*)'|"([^"]*)")$/;
const NUMBER = /^-?\d+(?:\.\d+)?$/;
const COMPARISON = /^(.+?)\s*(==|!=|>=|<=|>|<)\s*(.+)$/;

/**
 * Parses a tag override value: a quoted literal, an attribute, `request.headers['name']`, each
 * optionally wrapped in `string(...)`.
 *
 * @example
 * ```ts
 * parseValueExpression("request.headers['x-tenant']"); // { ok: true, expression: { kind: "header", name: "x-tenant" } }
 * parseValueExpression("request.bogus"); // { ok: false, problem: "..." }
 * ```
 */
export function parseValueExpression(text: string): Parsed<ValueExpression> {
  let source = text.trim();
  const wrapped = /^string\((.*)\)$/.exec(source);
  if (wrapped) source = (wrapped[1] ?? "").trim();
  const literal = LITERAL.exec(source);
  if (literal) return { ok: true, expression: { kind: "literal", value: literal[1] ?? literal[2] ?? "" } };
  if (NUMBER.test(source)) return { ok: true, expression: { kind: "literal", value: Number(source) } };
  const header = HEADER.exec(source);
  if (header) {
    const name = (header[1] ?? header[2] ?? "").toLowerCase();
    if (name === "") return { ok: false, problem: "request.headers[...] needs a header name" };
    return { ok: true, expression: { kind: "header", name } };
  }
  if (ATTRIBUTE_SET.has(source))
    return { ok: true, expression: { kind: "attribute", name: source as TelemetryAttribute } };
  return {
    ok: false,
    problem: `"${text}" is not a supported expression; use a quoted literal ('value'), request.headers['name'] or one of ${TELEMETRY_ATTRIBUTES.join(", ")}`,
  };
}

/**
 * Parses an access-log filter: comparisons joined by `&&` / `||` (`&&` binds tighter), no parentheses.
 *
 * @example
 * ```ts
 * parseFilterExpression("response.code >= 400 || response.flags != '-'");
 * ```
 */
export function parseFilterExpression(text: string): Parsed<FilterExpression> {
  const alternatives = splitOutsideQuotes(text, "||");
  let result: FilterExpression | undefined;
  for (const alternative of alternatives) {
    let conjunction: FilterExpression | undefined;
    for (const part of splitOutsideQuotes(alternative, "&&")) {
      const comparison = parseComparison(part);
      if (!comparison.ok) return comparison;
      conjunction = conjunction
        ? { kind: "and", left: conjunction, right: comparison.expression }
        : comparison.expression;
    }
    if (!conjunction) return { ok: false, problem: "the filter is empty" };
    result = result ? { kind: "or", left: result, right: conjunction } : conjunction;
  }
  return result ? { ok: true, expression: result } : { ok: false, problem: "the filter is empty" };
}

function parseComparison(text: string): Parsed<FilterExpression> {
  const match = COMPARISON.exec(text.trim());
  if (!match)
    return {
      ok: false,
      problem: `"${text.trim()}" is not a comparison; write e.g. response.code >= 400 or request.method == 'GET'`,
    };
  const left = parseValueExpression(match[1] ?? "");
  if (!left.ok) return left;
  const right = parseValueExpression(match[3] ?? "");
  if (!right.ok) return right;
  const op = match[2] as ComparisonOperator;
  return { ok: true, expression: { kind: "compare", left: left.expression, op, right: right.expression } };
}

function splitOutsideQuotes(text: string, separator: string): string[] {
  const parts: string[] = [];
  let quote: string | undefined;
  let start = 0;
  for (let i = 0; i < text.length; i++) {
    const c = text[i];
    if (quote) {
      if (c === quote) quote = undefined;
    } else if (c === "'" || c === '"') quote = c;
    else if (text.startsWith(separator, i)) {
      parts.push(text.slice(start, i));
      start = i + separator.length;
      i += separator.length - 1;
    }
  }
  parts.push(text.slice(start));
  return parts;
}

/**
 * Evaluates a value expression; an absent attribute gives `"unknown"`, as Istio reports it.
 *
 * @example
 * ```ts
 * evaluateValue({ kind: "attribute", name: "request.method" }, attrs); // "GET"
 * ```
 */
export function evaluateValue(expression: ValueExpression, source: AttributeSource): string {
  const value = readValue(expression, source);
  return value === undefined ? "unknown" : String(value);
}

/** True when the request passes the filter. Numbers compare as numbers, anything else as strings. */
export function evaluateFilter(expression: FilterExpression, source: AttributeSource): boolean {
  switch (expression.kind) {
    case "and":
      return evaluateFilter(expression.left, source) && evaluateFilter(expression.right, source);
    case "or":
      return evaluateFilter(expression.left, source) || evaluateFilter(expression.right, source);
    case "compare":
      return compare(readValue(expression.left, source), expression.op, readValue(expression.right, source));
    default: {
      const unknown: never = expression;
      throw new Error(`unhandled filter ${JSON.stringify(unknown)}`);
    }
  }
}

function readValue(expression: ValueExpression, source: AttributeSource): string | number | undefined {
  switch (expression.kind) {
    case "literal":
      return expression.value;
    case "attribute":
      return source.attribute(expression.name);
    case "header":
      return source.header(expression.name);
    default: {
      const unknown: never = expression;
      throw new Error(`unhandled value expression ${JSON.stringify(unknown)}`);
    }
  }
}

function compare(
  left: string | number | undefined,
  op: ComparisonOperator,
  right: string | number | undefined,
): boolean {
  if (left === undefined || right === undefined) return op === "!=" ? left !== right : false;
  const numeric = typeof left === "number" || typeof right === "number";
  const a = numeric ? Number(left) : String(left);
  const b = numeric ? Number(right) : String(right);
  switch (op) {
    case "==":
      return a === b;
    case "!=":
      return a !== b;
    case ">=":
      return a >= b;
    case "<=":
      return a <= b;
    case ">":
      return a > b;
    case "<":
      return a < b;
    default: {
      const unknown: never = op;
      throw new Error(`unhandled operator ${String(unknown)}`);
    }
  }
}
