import { describe, expect, it } from "vitest";
import type { Snapshot } from "../../control/compile/snapshot.ts";
import { authorityPort, buildRouteTable, findVirtualHost, stripPort } from "./route-table.ts";

const vh = (name: string, domains: string[]) => ({ name, domains, routes: [] });
const snapshot = (virtualHosts: Snapshot["virtualHosts"]): Snapshot => ({
  version: "0",
  revision: 0,
  proxy: { id: "t", role: "sidecar", namespace: "default", labels: {} },
  virtualHosts,
  clusters: {},
});

describe("findVirtualHost", () => {
  const table = buildRouteTable(
    snapshot([
      vh("exact", ["a.example.com", "a.example.com:8080"]),
      vh("wide", ["*.example.com"]),
      vh("narrow", ["*.eu.example.com"]),
      vh("any", ["*"]),
    ]),
  );
  const find = (authority: string) => findVirtualHost(table, authority)?.name;

  it("prefers exact, then the longest wildcard suffix, then the catch-all", () => {
    expect(find("a.example.com:8080")).toBe("exact");
    expect(find("b.eu.example.com")).toBe("narrow");
    expect(find("b.example.com")).toBe("wide");
    expect(find("example.com")).toBe("any");
  });

  it("retries without the port", () => {
    expect(find("a.example.com:9999")).toBe("exact");
    expect(find("x.eu.example.com:443")).toBe("narrow");
  });

  it("keeps the first virtual host for a duplicated domain", () => {
    const t = buildRouteTable(snapshot([vh("first", ["x"]), vh("second", ["x"])]));
    expect(findVirtualHost(t, "x")?.name).toBe("first");
  });
});

describe("stripPort / authorityPort", () => {
  it.each([
    ["reviews:9080", "reviews", 9080],
    ["reviews", "reviews", undefined],
    ["[::1]:8080", "[::1]", 8080],
    ["[::1]", "[::1]", undefined],
    ["::1", "::1", undefined],
  ])("%s → %s / %s", (authority, host, port) => {
    expect(stripPort(authority)).toBe(host);
    expect(authorityPort(authority)).toBe(port);
  });
});
