import { describe, expect, it } from "vitest";
import { parseDocuments } from "./parse.ts";

describe("parseDocuments", () => {
  it("splits multi-document YAML and skips empty documents", () => {
    const { documents, diagnostics } = parseDocuments("kind: A\n---\n---\nkind: B\n---\n");
    expect(diagnostics).toEqual([]);
    expect(documents).toEqual([{ kind: "A" }, { kind: "B" }]);
  });

  it("accepts a JSON array and a Kubernetes List", () => {
    expect(parseDocuments('[{"kind":"A"},{"kind":"B"}]').documents).toHaveLength(2);
    expect(parseDocuments('{"kind":"List","items":[{"kind":"A"}]}').documents).toEqual([{ kind: "A" }]);
  });

  it("turns a syntax error into a diagnostic with its line", () => {
    const { documents, diagnostics } = parseDocuments("kind: A\nspec:\n  hosts: [a\n  http: 1\n", "vs.yaml");
    expect(documents).toEqual([]);
    expect(diagnostics[0]).toMatchObject({ code: "JIBE1001", severity: "error", resource: "vs.yaml" });
    expect(diagnostics[0]?.path).toMatch(/^line \d+, column \d+$/);
    expect(diagnostics[0]?.message).toContain("YAML syntax error at line");
  });

  it("rejects duplicate keys", () => {
    expect(parseDocuments("kind: A\nkind: B\n").diagnostics[0]?.code).toBe("JIBE1001");
  });

  it("keeps yes/no as strings (YAML 1.2)", () => {
    expect(parseDocuments("v: yes\n").documents).toEqual([{ v: "yes" }]);
  });
});
