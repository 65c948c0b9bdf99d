import type { z } from "zod";
import type { PathSegment, Reporter } from "./diagnostics.ts";

type AnySchema = z.core.$ZodType;

/**
 * Turns zod issues into field-level diagnostics: the path names the field, the message says what
 * was expected and, for unknown fields, which known field was probably meant.
 *
 * @example
 * ```ts
 * const result = schema.safeParse(spec, { reportInput: true });
 * if (!result.success) reportZodIssues(result.error.issues, schema, ["spec"], reporter);
 * ```
 */
export function reportZodIssues(
  issues: readonly z.core.$ZodIssue[],
  root: AnySchema,
  base: readonly PathSegment[],
  reporter: Reporter,
): void {
  for (const issue of issues) {
    const rel = issue.path.filter((p): p is PathSegment => typeof p !== "symbol");
    const path = [...base, ...rel];
    switch (issue.code) {
      case "invalid_type": {
        const expected = describeExpected(issue.expected);
        if (issue.input === undefined) {
          reporter.error("JIBE1012", path, `${fieldName(path)} is required; add it as ${expected}`);
        } else {
          reporter.error(
            "JIBE1010",
            path,
            `${fieldName(path)} must be ${expected}, got ${describeValue(issue.input)}; change it to ${expected}`,
          );
        }
        break;
      }
      case "unrecognized_keys": {
        const known = knownKeysAt(root, rel);
        for (const key of issue.keys) {
          const hint = closest(key, known);
          const fix = hint
            ? `did you mean "${hint}"?`
            : `remove it${known.length ? ` (known fields: ${known.join(", ")})` : ""}`;
          reporter.error("JIBE1011", [...path, key], `unknown field "${key}" in ${fieldName(path)}; ${fix}`);
        }
        break;
      }
      case "invalid_value":
        reporter.error(
          "JIBE1013",
          path,
          `${fieldName(path)} is ${describeValue(issue.input)}; use one of ${issue.values.map((v) => JSON.stringify(v)).join(", ")}`,
        );
        break;
      case "too_small":
        reporter.error(
          "JIBE1013",
          path,
          issue.origin === "array" || issue.origin === "string"
            ? `${fieldName(path)} must not be empty; give at least ${issue.minimum} ${issue.origin === "array" ? "entry" : "character"}`
            : `${fieldName(path)} is ${describeValue(issue.input)} but must be ${issue.inclusive ? "at least" : "more than"} ${issue.minimum}`,
        );
        break;
      case "too_big":
        reporter.error(
          "JIBE1013",
          path,
          `${fieldName(path)} is ${describeValue(issue.input)} but must be ${issue.inclusive ? "at most" : "less than"} ${issue.maximum}`,
        );
        break;
      case "invalid_union":
        reporter.error(
          "JIBE1010",
          path,
          `${fieldName(path)} has the wrong type (${describeValue(issue.input)}); ${issue.message}`,
        );
        break;
      case "invalid_format":
      case "not_multiple_of":
      case "invalid_key":
      case "invalid_element":
      case "custom":
        reporter.error("JIBE1013", path, `${fieldName(path)}: ${issue.message}`);
        break;
      default: {
        const _exhaustive: never = issue;
        reporter.error("JIBE1013", path, `invalid value: ${String(_exhaustive)}`);
      }
    }
  }
}

function fieldName(path: readonly PathSegment[]): string {
  const last = [...path].reverse().find((p) => typeof p === "string");
  const index = typeof path[path.length - 1] === "number" ? ` entry ${path[path.length - 1]}` : "";
  return last === undefined ? "the document" : `"${last}"${index}`;
}

function describeExpected(expected: string): string {
  switch (expected) {
    case "object":
    case "record":
      return "a mapping (key: value)";
    case "array":
      return "a list";
    case "int":
      return "an integer";
    case "number":
      return "a number";
    case "string":
      return "a string";
    case "boolean":
      return "true or false";
    default:
      return expected;
  }
}

function describeValue(value: unknown): string {
  if (value === undefined) return "missing";
  if (value === null) return "null";
  if (Array.isArray(value)) return "a list";
  if (typeof value === "object") return "a mapping";
  const text = JSON.stringify(value);
  return `${typeof value} ${text.length > 40 ? `${text.slice(0, 37)}...` : text}`;
}

/** The keys an object schema at `path` declares, for "did you mean" hints. */
function knownKeysAt(root: AnySchema, path: readonly PathSegment[]): string[] {
  let schema: AnySchema | undefined = unwrap(root);
  for (const segment of path) {
    if (!schema) return [];
    const def = schema._zod.def as unknown as Record<string, unknown>;
    if (def.type === "object") schema = (def.shape as Record<string, AnySchema>)[String(segment)];
    else if (def.type === "array") schema = def.element as AnySchema;
    else if (def.type === "record") schema = def.valueType as AnySchema;
    else return [];
    schema = schema ? unwrap(schema) : undefined;
  }
  const def = schema?._zod.def as unknown as Record<string, unknown> | undefined;
  return def?.type === "object" ? Object.keys(def.shape as object) : [];
}

function unwrap(schema: AnySchema): AnySchema {
  let current = schema;
  for (;;) {
    const def = current._zod.def as unknown as Record<string, unknown>;
    if (def.type === "optional" || def.type === "nullable" || def.type === "default")
      current = def.innerType as AnySchema;
    else if (def.type === "pipe") current = def.in as AnySchema;
    else if (def.type === "lazy") current = (def.getter as () => AnySchema)();
    else return current;
  }
}

function closest(key: string, candidates: readonly string[]): string | undefined {
  let best: string | undefined;
  let bestDistance = Math.max(2, Math.floor(key.length / 3)) + 1;
  for (const candidate of candidates) {
    const distance = editDistance(key.toLowerCase(), candidate.toLowerCase());
    if (distance < bestDistance) {
      best = candidate;
      bestDistance = distance;
    }
  }
  return best;
}

function editDistance(a: string, b: string): number {
  let previous = Array.from({ length: b.length + 1 }, (_, i) => i);
  for (let i = 1; i <= a.length; i++) {
    const current = [i];
    for (let j = 1; j <= b.length; j++) {
      const cost = a[i - 1] === b[j - 1] ? 0 : 1;
      current[j] = Math.min((previous[j] ?? 0) + 1, (current[j - 1] ?? 0) + 1, (previous[j - 1] ?? 0) + cost);
    }
    previous = current;
  }
  return previous[b.length] ?? 0;
}
