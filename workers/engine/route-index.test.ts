import { describe, expect, it } from "vitest";
import { buildRouteIndex, regexLiteralPrefix, routeCandidates } from "./route-index.ts";

describe("regexLiteralPrefix", () => {
  it.each([
    ["/items/[0-9]+", "/items/"],
    ["/api/v1", "/api/v1"],
    ["/bx?/c", "/b"],
    ["/ab*", "/a"],
    ["/ab{2}", "/a"],
    ["/ab+", "/ab"],
    ["/a|/b", ""],
    ["(?i)/a", ""],
    ["\\/a", ""],
    [".*", ""],
  ])("%s → %s", (pattern, prefix) => {
    expect(regexLiteralPrefix(pattern)).toBe(prefix);
  });
});

describe("buildRouteIndex", () => {
  it("leaves a virtual host with few routes unindexed (tested in order)", () => {
    expect(buildRouteIndex([[{ uri: { exact: "/a" } }]])).toBeUndefined();
    expect(buildRouteIndex(Array.from({ length: 16 }, () => [{ uri: { exact: "/a" } }]))).toBeDefined();
  });
});

describe("routeCandidates", () => {
  const index = buildRouteIndex(
    [
      [{ uri: { prefix: "/api" } }],
      [{ headers: { "x-a": { exact: "1" } } }],
      [{ uri: { exact: "/api/x" } }, { uri: { prefix: "/other" } }],
      [{ uri: { prefix: "/api/" } }, { headers: { "x-b": { present: true } } }],
      [{ uri: { regex: "/api/v[0-9]+" } }],
      [{ uri: { exact: "/API" }, ignoreUriCase: true }],
      [],
    ],
    0,
  )!;

  it("lists only routes that could match the path, in route order", () => {
    expect(routeCandidates(index, "/api/x")).toEqual([0, 1, 2, 3, 5, 6]);
    expect(routeCandidates(index, "/api/v2")).toEqual([0, 1, 3, 4, 5, 6]);
    expect(routeCandidates(index, "/other/1")).toEqual([1, 2, 3, 5, 6]);
    expect(routeCandidates(index, "/nothing")).toEqual([1, 3, 5, 6]);
  });

  it("keeps routes with a path-free match block, no match block or ignoreUriCase as candidates for every path", () => {
    expect(index.always).toEqual([1, 3, 5, 6]);
  });
});
