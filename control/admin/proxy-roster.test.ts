import { describe, expect, it } from "vitest";
import type { ProxyReport } from "../../broker/proxy-report.ts";
import { createProxyRoster } from "./proxy-roster.ts";

function report(proxy: string, at: number): ProxyReport {
  return {
    v: 1,
    proxy,
    namespace: "default",
    labels: {},
    at,
    inboundAddress: "127.0.0.1:1",
    peerAuthentication: { mode: "PERMISSIVE", defaultMode: "PERMISSIVE", ports: {} },
    inbound: { mtls: 0, plaintext: 0, principals: {} },
    outbound: [],
  };
}

describe("proxy roster", () => {
  it("keeps the last report of a silent proxy until it is forgotten", () => {
    const roster = createProxyRoster({ forgetAfterMs: 60_000 });
    roster.observe([report("a", 1_000), report("b", 1_000)], 1_000);
    const later = roster.observe([report("a", 31_000)], 31_000);
    expect(later.current.map((r) => r.proxy)).toEqual(["a"]);
    expect(later.missing.map((r) => [r.proxy, r.at])).toEqual([["b", 1_000]]);
    expect(roster.observe([report("a", 62_000)], 62_000).missing).toEqual([]);
    expect(roster.observe([], 63_000).missing.map((r) => r.proxy)).toEqual(["a"]);
  });
});
