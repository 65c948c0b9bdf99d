import { describe, expect, it } from "vitest";
import { mergeResults, splitSections } from "./results-file.ts";

describe("mergeResults", () => {
  const previous = "# Results\n\n- Date: old\n\n## A\n\nold a\n\n## B\n\nold b\n";

  it("replaces the sections of this run in place and keeps the others", () => {
    const merged = mergeResults(previous, "# Results\n\n- Date: new\n", ["## B\n\nnew b\n"]);
    expect(merged).toBe("# Results\n\n- Date: new\n\n## A\n\nold a\n\n## B\n\nnew b\n");
  });

  it("appends sections the previous file did not have", () => {
    const merged = mergeResults(previous, "# Results\n", ["## C\n\nc\n"]);
    expect([...splitSections(merged).sections.keys()]).toEqual(["## A", "## B", "## C"]);
  });

  it("writes only this run's sections when there was no previous file", () => {
    expect(mergeResults("", "# Results\n", ["## A\n\na\n"])).toBe("# Results\n\n## A\n\na\n");
  });
});
