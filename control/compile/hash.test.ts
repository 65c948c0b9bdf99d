import { describe, expect, it } from "vitest";
import { canonicalJson, contentHash, fnv1a64 } from "./hash.ts";

describe("fnv1a64", () => {
  it.each([
    ["", "cbf29ce484222325"],
    ["a", "af63dc4c8601ec8c"],
    ["foobar", "85944171f73967e8"],
  ])("hashes %j to the published FNV-1a 64 value", (text, hash) => {
    expect(fnv1a64(text)).toBe(hash);
  });

  it("hashes UTF-8 bytes", () => {
    expect(fnv1a64("é")).not.toBe(fnv1a64("e"));
  });
});

describe("canonicalJson", () => {
  it("ignores key order and undefined fields", () => {
    expect(canonicalJson({ b: 1, a: { d: undefined, c: [1, "x"] } })).toBe('{"a":{"c":[1,"x"]},"b":1}');
    expect(contentHash({ x: 1, y: 2 })).toBe(contentHash({ y: 2, x: 1 }));
  });
});
