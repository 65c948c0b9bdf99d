import { describe, expect, it } from "vitest";
import { validateResource } from "./validate.ts";

/** Validation of address and weight fields: CIDR blocks in VirtualService `tcp` matches and ServiceEntry `addresses`, endpoint weights. */

const doc = (kind: string, spec: unknown) => ({
  apiVersion: "networking.istio.io/v1",
  kind,
  metadata: { name: "x", namespace: "default" },
  spec,
});
const found = (d: unknown) =>
  validateResource(d).diagnostics.map((x) => ({ severity: x.severity, path: x.path, message: x.message }));

describe("VirtualService tcp/tls match subnets", () => {
  const tcp = (match: unknown) =>
    doc("VirtualService", {
      hosts: ["db.internal"],
      tcp: [{ match: [match], route: [{ destination: { host: "db.internal" } }] }],
    });

  it("accepts IPv4 and IPv6 addresses and CIDR blocks", () => {
    expect(
      found(tcp({ destinationSubnets: ["10.0.0.0/8", "192.168.1.7", "2001:db8::/32"], sourceSubnet: "::1" })),
    ).toEqual([]);
  });

  it("names each bad block with its path and an example of a valid one", () => {
    const diagnostics = found(
      tcp({ destinationSubnets: ["10.0.0.0/8", "10.0.0.0/33", "db.internal"], sourceSubnet: "1.2.3" }),
    );
    expect(diagnostics.map((d) => `${d.severity} ${d.path}`)).toEqual([
      "error spec.tcp[0].match[0].destinationSubnets[1]",
      "error spec.tcp[0].match[0].destinationSubnets[2]",
      "error spec.tcp[0].match[0].sourceSubnet",
    ]);
    expect(diagnostics[0]?.message).toContain('e.g. "10.0.0.0/16"');
  });
});

describe("ServiceEntry addresses and endpoint weights", () => {
  const entry = (spec: Record<string, unknown>) =>
    doc("ServiceEntry", {
      hosts: ["db.internal"],
      ports: [{ number: 5432, name: "tcp", protocol: "TCP" }],
      ...spec,
    });

  it("allows CIDR addresses with NONE and STATIC, not with DNS resolution (Istio)", () => {
    expect(found(entry({ addresses: ["192.168.0.0/16", "2001:db8::/32"], resolution: "NONE" }))).toEqual([]);
    const dns = found(
      entry({
        addresses: ["10.1.2.3", "10.1.2.4/32", "192.168.0.0/16"],
        resolution: "DNS",
        endpoints: [{ address: "db.example.com" }],
      }),
    );
    expect(dns.map((d) => `${d.severity} ${d.path}`)).toEqual(["error spec.addresses[2]"]);
    expect(dns[0]?.message).toContain("resolution NONE or STATIC");
    expect(found(entry({ addresses: ["192.168.0.0/40"] }))[0]?.path).toBe("spec.addresses[0]");
  });

  it("rejects negative weights and warns that weight 0 is Istio's unset (weight 1)", () => {
    const diagnostics = found(
      entry({
        resolution: "STATIC",
        endpoints: [
          { address: "10.0.0.1", weight: 3 },
          { address: "10.0.0.2", weight: 0 },
          { address: "10.0.0.3", weight: -2 },
        ],
      }),
    );
    expect(diagnostics.map((d) => `${d.severity} ${d.path}`)).toEqual([
      "warning spec.endpoints[1].weight",
      "error spec.endpoints[2].weight",
    ]);
    expect(diagnostics[0]?.message).toContain("remove the endpoint to drain it");
    expect(diagnostics[1]?.message).toContain("1 or more");
    const fraction = found(
      entry({ resolution: "STATIC", endpoints: [{ address: "10.0.0.4", weight: 1.5 }] }),
    );
    expect(fraction.map((d) => `${d.severity} ${d.path}`)).toEqual(["error spec.endpoints[0].weight"]);
  });

  it("checks a WorkloadEntry's weight the same way", () => {
    const we = (weight: number) => doc("WorkloadEntry", { address: "10.0.0.1", weight });
    expect(found(we(5))).toEqual([]);
    expect(found(we(-1)).map((d) => `${d.severity} ${d.path}`)).toEqual(["error spec.weight"]);
    expect(found(we(0)).map((d) => `${d.severity} ${d.path}`)).toEqual(["warning spec.weight"]);
  });
});
