import { parseAllDocuments } from "yaml";
import type { Diagnostic } from "../compile/snapshot.ts";

/**
 * Parses user input into plain documents: multi-document YAML, a JSON object or array, or a
 * Kubernetes `kind: List`. Syntax errors become JIBE1001 diagnostics with line and column.
 * YAML 1.2 core schema: `yes`/`no` stay strings; duplicate keys are errors.
 *
 * @example
 * ```ts
 * const { documents, diagnostics } = parseDocuments("kind: Service\n---\nkind: VirtualService\n", "app.yaml");
 * documents.length; // 2
 * ```
 */
export function parseDocuments(
  text: string,
  source = "<input>",
): { documents: unknown[]; diagnostics: Diagnostic[] } {
  const documents: unknown[] = [];
  const diagnostics: Diagnostic[] = [];
  const parsed = parseAllDocuments(text, { prettyErrors: true, uniqueKeys: true, strict: true });
  const all = Array.isArray(parsed) ? parsed : [parsed];
  all.forEach((doc, i) => {
    const problems = [...doc.errors];
    if (problems.length > 0) {
      for (const problem of problems) {
        const pos = problem.linePos?.[0];
        const where = pos ? `line ${pos.line}, column ${pos.col}` : `document #${i + 1}`;
        const first = problem.message.split("\n")[0] ?? problem.message;
        diagnostics.push({
          severity: "error",
          code: "JIBE1001",
          resource: source,
          path: where,
          message: `YAML syntax error at ${where}: ${first}; fix the indentation or quoting there`,
        });
      }
      return;
    }
    const value: unknown = doc.toJS({ maxAliasCount: 100 });
    if (value === null || value === undefined) return;
    documents.push(...flatten(value));
  });
  return { documents, diagnostics };
}

function flatten(value: unknown): unknown[] {
  if (Array.isArray(value)) return value.flatMap(flatten);
  if (typeof value === "object" && value !== null) {
    const obj = value as Record<string, unknown>;
    if (obj.kind === "List" && Array.isArray(obj.items)) return obj.items.flatMap(flatten);
  }
  return [value];
}
