import { describe, expect, it } from "vitest";
import { renderIptablesRules } from "./iptables.ts";
import { routePacket } from "./testing/iptables-simulator.ts";
import { readTrafficCapture } from "./traffic-capture.ts";

const APP_UID = 1000;
const rulesFor = (annotations: Record<string, string> = {}) =>
  renderIptablesRules(readTrafficCapture(annotations));
const inbound = (rules: string, dport: number) =>
  routePacket(rules, { hook: "PREROUTING", dport, daddr: "10.1.1.1" });
const outbound = (rules: string, dport: number, daddr = "10.96.0.20", uid = APP_UID) =>
  routePacket(rules, { hook: "OUTPUT", dport, daddr, uid });

describe("traffic capture rules", () => {
  it("by default sends every inbound port to the proxy's inbound listener, except the proxy's own", () => {
    const rules = rulesFor();
    expect(inbound(rules, 9080)).toBe(15006);
    expect(inbound(rules, 8443)).toBe(15006);
    for (const own of [15020, 15021, 15090]) expect(inbound(rules, own)).toBeUndefined();
  });

  it("by default sends every outbound connection of the app to the proxy's outbound listener", () => {
    const rules = rulesFor();
    expect(outbound(rules, 9080)).toBe(15001);
    expect(outbound(rules, 443, "93.184.216.34")).toBe(15001);
  });

  it("never captures what the proxy itself sends (no loop), nor the app's localhost traffic", () => {
    const rules = rulesFor();
    expect(outbound(rules, 9080, "10.96.0.20", 1337)).toBeUndefined();
    expect(outbound(rules, 5432, "127.0.0.1")).toBeUndefined();
    expect(
      routePacket(rules, { hook: "OUTPUT", dport: 8080, daddr: "127.0.0.1", uid: 1337, outInterface: "lo" }),
    ).toBeUndefined();
  });

  it("sends the proxy's own calls to its Pod IP back through the inbound listener (hairpin)", () => {
    const rules = rulesFor();
    expect(
      routePacket(rules, { hook: "OUTPUT", dport: 9080, daddr: "10.1.1.1", uid: 1337, outInterface: "lo" }),
    ).toBe(15006);
  });

  it("captures only the listed inbound ports with includeInboundPorts, and nothing with an empty list", () => {
    const rules = rulesFor({ "traffic.sidecar.istio.io/includeInboundPorts": "9080, 9443" });
    expect(inbound(rules, 9080)).toBe(15006);
    expect(inbound(rules, 9443)).toBe(15006);
    expect(inbound(rules, 22)).toBeUndefined();
    const none = rulesFor({ "traffic.sidecar.istio.io/includeInboundPorts": "" });
    expect(inbound(none, 9080)).toBeUndefined();
    expect(outbound(none, 9080)).toBe(15001);
  });

  it("leaves excludeInboundPorts and excludeOutboundPorts alone", () => {
    const rules = rulesFor({
      "traffic.sidecar.istio.io/excludeInboundPorts": "22",
      "traffic.sidecar.istio.io/excludeOutboundPorts": "3306,6379",
    });
    expect(inbound(rules, 22)).toBeUndefined();
    expect(inbound(rules, 9080)).toBe(15006);
    expect(outbound(rules, 3306)).toBeUndefined();
    expect(outbound(rules, 6379)).toBeUndefined();
    expect(outbound(rules, 9080)).toBe(15001);
  });

  it("leaves destinations in excludeOutboundIPRanges alone (a bare address is a /32)", () => {
    const rules = rulesFor({
      "traffic.sidecar.istio.io/excludeOutboundIPRanges": "169.254.169.254, 10.200.0.0/16",
    });
    expect(outbound(rules, 80, "169.254.169.254")).toBeUndefined();
    expect(outbound(rules, 443, "10.200.3.4")).toBeUndefined();
    expect(outbound(rules, 443, "10.201.3.4")).toBe(15001);
  });

  it("with includeOutboundIPRanges, captures those ranges plus includeOutboundPorts anywhere", () => {
    const rules = rulesFor({
      "traffic.sidecar.istio.io/includeOutboundIPRanges": "10.96.0.0/12",
      "traffic.sidecar.istio.io/includeOutboundPorts": "5432",
    });
    expect(outbound(rules, 9080, "10.96.0.20")).toBe(15001);
    expect(outbound(rules, 443, "93.184.216.34")).toBeUndefined();
    expect(outbound(rules, 5432, "93.184.216.34")).toBe(15001);
  });

  it("rejects annotation values it cannot capture, naming the annotation and the fix", () => {
    expect(() => rulesFor({ "traffic.sidecar.istio.io/excludeOutboundPorts": "3306,mysql" })).toThrow(
      /excludeOutboundPorts.*"mysql" is not a port; use comma-separated numbers/,
    );
    expect(() => rulesFor({ "traffic.sidecar.istio.io/includeInboundPorts": "70000" })).toThrow(
      /"70000" is not a port/,
    );
    expect(() => rulesFor({ "traffic.sidecar.istio.io/excludeOutboundIPRanges": "10.0.0.0/33" })).toThrow(
      /excludeOutboundIPRanges.*not an IPv4 CIDR/,
    );
  });

  it("is a complete iptables-restore input for the nat table", () => {
    const rules = rulesFor();
    expect(rules.startsWith("*nat\n")).toBe(true);
    expect(rules.endsWith("COMMIT\n")).toBe(true);
  });
});
