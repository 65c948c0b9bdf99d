import { describe, expect, it } from "vitest";
import type { RouteMatch } from "../../control/compile/snapshot.ts";
import { regexLiteralPrefix } from "../../control/model/re2-regex.ts";
import { buildRouteIndex, routeCandidates } from "./route-index.ts";

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

const matches: RouteMatch[][] = [
  [{ uri: { prefix: "/api" } }],
  [{ headers: { "x-a": { exact: "1" } } }],
  [{ uri: { exact: "/api/x" } }, { uri: { prefix: "/other" } }],
  [{ uri: { prefix: "/api/" } }, { headers: { "x-b": { present: true } } }],
  [{ uri: { regex: "/api/v[0-9]+" } }],
  [{ uri: { exact: "/API" }, ignoreUriCase: true }],
  [{ headers: { "x-a": { exact: "2" } }, method: { exact: "POST" } }],
  [],
];

describe("routeCandidates", () => {
  const index = buildRouteIndex(matches, 0)!;

  it("lists only routes that could match the path and headers, in route order", () => {
    expect(routeCandidates(index, "/api/x", {})).toEqual([0, 2, 3, 5, 7]);
    expect(routeCandidates(index, "/api/v2", { "x-a": "1" })).toEqual([0, 1, 3, 4, 5, 7]);
    expect(routeCandidates(index, "/other/1", { "x-a": "2" })).toEqual([2, 3, 5, 6, 7]);
    expect(routeCandidates(index, "/nothing", { "x-a": "3" })).toEqual([3, 5, 7]);
  });

  it("keeps routes with a block that has neither a path nor an exact header, or no block, for every request", () => {
    expect(index.always.map((entry) => entry >> 1)).toEqual([3, 5, 7]);
  });

  it("marks as sure only candidates whose key is their block's only condition", () => {
    const sure = (list: readonly number[] | undefined) =>
      (list ?? []).filter((e) => e & 1).map((e) => e >> 1);
    expect(sure(index.exact.get("/api/x"))).toEqual([0, 2]);
    expect(sure(index.headers[0]?.values.get("1"))).toEqual([1]);
    expect(sure(index.headers[0]?.values.get("2"))).toEqual([]);
  });

  it("lists every prefix on the way to an exact path, not only the deepest", () => {
    const nested = buildRouteIndex(
      [[{ uri: { prefix: "/a" } }], [{ uri: { prefix: "/a/b" } }], [{ uri: { exact: "/a/b/c" } }]],
      0,
    )!;
    expect(nested.merged).toBe(true);
    expect(routeCandidates(nested, "/a/b/c", {})).toEqual([0, 1, 2]);
    expect(routeCandidates(nested, "/a/b/d", {})).toEqual([0, 1]);
  });

  it("gives the same candidates when nested prefixes are too deep to merge", () => {
    // /a, /a/a, /a/a/a, ...: merged lists would grow with the square of the depth.
    const deep: RouteMatch[][] = Array.from({ length: 60 }, (_, i) => [
      { uri: { prefix: "/a".repeat(i + 1) } },
    ]);
    const nested = buildRouteIndex([...deep, ...matches], 0)!;
    expect(nested.merged).toBe(false);
    const shallow = buildRouteIndex(deep.slice(0, 3), 0)!;
    expect(shallow.merged).toBe(true);
    expect(routeCandidates(nested, "/a/a/a/b", {})).toEqual([0, 1, 2, 63, 65, 67]);
    expect(routeCandidates(shallow, "/a/a/a/b", {})).toEqual([0, 1, 2]);
    expect(routeCandidates(shallow, "/a/a", {})).toEqual([0, 1]);
  });
});
