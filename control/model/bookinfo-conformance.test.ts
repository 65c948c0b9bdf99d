import { existsSync, readdirSync, readFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";
import { parseDocuments } from "./parse.ts";
import { validateDocuments } from "./validate.ts";

// The Istio samples live in the shared folder beside the repo; they must not be copied into it.
const SAMPLES = fileURLToPath(
  new URL("../../../shared/conformance/istio-samples/bookinfo/networking/", import.meta.url),
);
if (!existsSync(SAMPLES)) {
  throw new Error(
    `Istio bookinfo samples not found at ${SAMPLES}; the shared/ folder must sit beside the repository`,
  );
}
const files = readdirSync(SAMPLES).filter((f) => f.endsWith(".yaml"));

/** Kinds in the samples Jibe does not support yet; each must get exactly the "not supported yet" error. */
const NOT_YET = new Set<string>([]);

describe("Istio bookinfo networking samples", () => {
  it("are all present", () => {
    expect(files.length).toBeGreaterThanOrEqual(21);
  });

  it.each(files)("%s validates with no error", (file) => {
    const { documents, diagnostics: parseDiagnostics } = parseDocuments(
      readFileSync(SAMPLES + file, "utf8"),
      file,
    );
    expect(parseDiagnostics).toEqual([]);
    const { resources, diagnostics } = validateDocuments(documents);
    const unsupported = documents.filter((d) => NOT_YET.has((d as { kind: string }).kind));
    expect(resources).toHaveLength(documents.length - unsupported.length);
    const errors = diagnostics.filter((d) => d.severity === "error");
    expect(errors.map((d) => d.code)).toEqual(unsupported.map(() => "JIBE1004"));
    for (const [i, doc] of unsupported.entries()) {
      expect(errors[i]?.message).toContain(
        `kind ${(doc as { kind: string }).kind} (networking.istio.io/v1) is not supported yet; supported kinds:`,
      );
    }
  });
});
