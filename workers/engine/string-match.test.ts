import { describe, expect, it } from "vitest";
import { compileRe2, splitLiteralPrefix } from "../../control/model/re2-regex.ts";
import { compileStringMatch } from "./string-match.ts";

describe("compileStringMatch: regexes split into a literal start and a shared tail", () => {
  const patterns = [
    "/items/[0-9]+",
    "/ab+",
    "/ab*c",
    "/bx?/c",
    "/ab{2}",
    "/api/v1",
    "/api/(v1|v2)/.*",
    "/a|/b",
    "(?i)/API/.*",
    "/foo\\bbar",
    "/x^y",
    "/t(?P<id>[0-9]+)",
    "/p.+",
    "/q$",
  ];
  const values = ["", "/", "/items/42", "/items/", "/items/4x", "/ab", "/abbb", "/a", "/abc", "/ac", "/abbc"];
  values.push("/b/c", "/bx/c", "/abb", "/api/v1", "/api/v1/x", "/api/v2/y", "/api/v3/", "/b", "/api/z");
  values.push("/foobar", "/t12", "/t", "/p", "/px", "/q", "/X/items/1");

  it.each(patterns)("%s matches exactly what the whole anchored regex matches", (pattern) => {
    const whole = compileRe2(pattern);
    if (!whole.ok) throw new Error(whole.reason);
    const matcher = compileStringMatch({ regex: pattern });
    for (const value of values) expect(matcher(value), value).toBe(whole.regexp.test(value));
    // Twice in a row: the sticky tail's lastIndex must not leak from one call to the next.
    for (const value of values) expect(matcher(value), value).toBe(whole.regexp.test(value));
  });

  it("splits only where the rest can be tested on its own", () => {
    expect(splitLiteralPrefix("/items/[0-9]+")).toEqual({ literal: "/items/", rest: "[0-9]+" });
    expect(splitLiteralPrefix("/ab+")).toEqual({ literal: "/a", rest: "b+" });
    expect(splitLiteralPrefix("/api/v1")).toEqual({ literal: "/api/v1", rest: "" });
    expect(splitLiteralPrefix("/foo\\bbar")).toBeUndefined();
    expect(splitLiteralPrefix("(?i)/a")).toBeUndefined();
    expect(splitLiteralPrefix("/a|/b")).toBeUndefined();
  });

  it("fails closed on a regex RE2 rejects, whatever its literal start", () => {
    expect(compileStringMatch({ regex: "/a(?=b)" })("/ab")).toBe(false);
    expect(compileStringMatch({ regex: "/a(" })("/a(")).toBe(false);
  });
});
