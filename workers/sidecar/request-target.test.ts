import { describe, expect, it } from "vitest";
import { parseRequestTarget } from "./request-target.ts";

describe("parseRequestTarget", () => {
  it("takes the authority from the Host header for origin-form requests", () => {
    expect(parseRequestTarget("/reviews/0?x=1", "reviews:9080")).toEqual({
      authority: "reviews:9080",
      path: "/reviews/0?x=1",
      scheme: "http",
    });
  });

  it("prefers an absolute-form URI over the Host header, as HTTP proxies must", () => {
    expect(parseRequestTarget("http://reviews:9080/x", "other")).toEqual({
      authority: "reviews:9080",
      path: "/x",
      scheme: "http",
    });
    expect(parseRequestTarget("HTTPS://user@api.example.com", undefined)).toEqual({
      authority: "api.example.com",
      path: "/",
      scheme: "https",
    });
    expect(parseRequestTarget("http://[::1]:8080/a?b#frag", undefined)?.authority).toBe("[::1]:8080");
    expect(parseRequestTarget("http://[::1]:8080/a?b#frag", undefined)?.path).toBe("/a?b");
  });

  it("refuses requests that name no usable authority", () => {
    expect(parseRequestTarget("/x", undefined)).toBeUndefined();
    expect(parseRequestTarget("/x", "")).toBeUndefined();
    expect(parseRequestTarget("/x", "bad host")).toBeUndefined();
    expect(parseRequestTarget("http:///x", "reviews")).toBeUndefined();
  });
});
