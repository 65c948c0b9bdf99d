import { describe, expect, it } from "vitest";
import { ipBlockContains, parseIpAddress, parseIpBlock } from "./ip-block.ts";
import { pathTemplateRegex } from "./path-template.ts";

const inBlock = (block: string, address: string) =>
  ipBlockContains(parseIpBlock(block)!, parseIpAddress(address)!);

describe("IP blocks", () => {
  it("matches IPv4 and IPv6 addresses against CIDR blocks", () => {
    expect(inBlock("10.0.0.0/8", "10.200.1.2")).toBe(true);
    expect(inBlock("10.0.0.0/8", "11.0.0.1")).toBe(false);
    expect(inBlock("192.168.1.0/25", "192.168.1.127")).toBe(true);
    expect(inBlock("192.168.1.0/25", "192.168.1.128")).toBe(false);
    expect(inBlock("1.2.3.4", "1.2.3.4")).toBe(true);
    expect(inBlock("2001:db8::/32", "2001:db8:1::7")).toBe(true);
    expect(inBlock("2001:db8::/32", "2001:db9::1")).toBe(false);
    expect(inBlock("0.0.0.0/0", "8.8.8.8")).toBe(true);
  });

  it("reads IPv4-mapped IPv6 addresses (Node's dual-stack sockets) as IPv4", () => {
    expect(inBlock("127.0.0.0/8", "::ffff:127.0.0.1")).toBe(true);
    expect(inBlock("::1", "::1")).toBe(true);
  });

  it("refuses malformed addresses and prefixes", () => {
    for (const bad of ["10.0.0.0/33", "256.1.1.1", "1.2.3", "2001:db8::/129", "1::2::3", "x", "10.0.0.0/a"]) {
      expect(parseIpBlock(bad), bad).toBeUndefined();
    }
  });
});

describe("path templates", () => {
  const matches = (template: string, path: string) => new RegExp(pathTemplateRegex(template)).test(path);

  it("{*} matches one segment and {**} any rest (Istio's examples)", () => {
    expect(matches("/foo/{*}", "/foo/bar")).toBe(true);
    expect(matches("/foo/{*}", "/foo/bar/baz")).toBe(false);
    expect(matches("/foo/{**}/", "/foo/bar/")).toBe(true);
    expect(matches("/foo/{**}/", "/foo//")).toBe(true);
    expect(matches("/foo/{**}/", "/foo/bar")).toBe(false);
    expect(matches("/foo/{*}/bar/{**}", "/foo/buzz/bar/")).toBe(true);
    expect(matches("/foo/{*}/bar/{**}", "/foo/buzz/bar/baz")).toBe(true);
    expect(matches("/a.b/{*}", "/aXb/c")).toBe(false);
  });
});
