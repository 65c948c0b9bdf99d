import { describe, expect, it } from "vitest";
import { HOP_BY_HOP_HEADERS, hopByHopNames } from "./hop-by-hop.ts";

describe("hopByHopNames", () => {
  it("is the RFC 9110 connection headers plus what Connection names, lower-cased", () => {
    const names = hopByHopNames(["keep-alive, X-Trace-Hop", " ,close"]);
    for (const name of HOP_BY_HOP_HEADERS) expect(names.has(name)).toBe(true);
    expect(names.has("x-trace-hop")).toBe(true);
    expect(names.has("close")).toBe(true);
    expect(names.has("")).toBe(false);
    expect(names.has("x-request-id")).toBe(false);
  });

  it("adds a runtime's extra names and copes with no Connection header", () => {
    expect(hopByHopNames(undefined, ["expect"]).has("expect")).toBe(true);
    expect(hopByHopNames(null).has("expect")).toBe(false);
  });
});
