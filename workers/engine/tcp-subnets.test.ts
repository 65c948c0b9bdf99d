import { describe, expect, it } from "vitest";
import type { StoredResource } from "../../broker/events.ts";
import { compile } from "../../control/compile/compile.ts";
import { sidecar, virtualService } from "../../control/compile/test-resources.ts";
import { type ConnectionFacts, decideTcpRoute } from "./decide-tcp-route.ts";
import { buildRouteTable } from "./route-table.ts";

/**
 * TCP connections matched by address: ServiceEntry CIDR `addresses` take connections whose
 * original destination lies in them, and VirtualService `tcp` matches on `destinationSubnets`
 * and `sourceSubnet` pick among the host's rules (IPv4 and IPv6).
 */

const entry = (name: string, spec: Record<string, unknown>, created?: string): StoredResource => ({
  apiVersion: "networking.istio.io/v1",
  kind: "ServiceEntry",
  metadata: { name, namespace: "default", ...(created ? { creationTimestamp: created } : {}) },
  spec: { location: "MESH_INTERNAL", ...spec },
});
const tcpPort = (number: number) => ({ number, name: `tcp-${number}`, protocol: "TCP" });

const onPremDb = entry("on-prem-db", {
  hosts: ["db.on-prem.internal"],
  addresses: ["192.168.0.0/16", "2001:db8::/32"],
  ports: [tcpPort(5432)],
  resolution: "STATIC",
  endpoints: [
    { address: "10.0.0.7", labels: { zone: "a" } },
    { address: "10.0.0.8", labels: { zone: "b" } },
  ],
});

function decide(resources: StoredResource[], conn: ConnectionFacts) {
  const { snapshot, diagnostics } = compile(resources, sidecar());
  const decision = decideTcpRoute(buildRouteTable(snapshot), conn, () => 0);
  const cluster = decision.kind === "forward" ? decision.cluster.name : decision.kind;
  return { decision, cluster, diagnostics };
}

describe("TCP: ServiceEntry CIDR addresses", () => {
  it("takes connections whose original destination is in a block, on the entry's ports only", () => {
    const to = (authority: string) => decide([onPremDb], { authority }).cluster;
    expect(to("192.168.3.4:5432")).toBe("outbound|5432||db.on-prem.internal");
    expect(to("[2001:db8:1::9]:5432")).toBe("outbound|5432||db.on-prem.internal");
    // Another port, or an address outside the blocks: not this entry (the ALLOW_ANY passthrough).
    expect(to("192.168.3.4:5433")).toBe("PassthroughCluster");
    expect(to("10.1.2.3:5432")).toBe("PassthroughCluster");
    expect(to("[2001:db9::1]:5432")).toBe("PassthroughCluster");
    // The original destination may be given apart from the authority (a bound port, a resolved name).
    expect(decide([onPremDb], { authority: "db:5432", destinationIp: "192.168.0.1" }).cluster).toBe(
      "outbound|5432||db.on-prem.internal",
    );
  });

  it("routes to the entry's endpoints, and the longest prefix wins across entries", () => {
    const narrow = entry("narrow", {
      hosts: ["replica.on-prem.internal"],
      addresses: ["192.168.7.0/24"],
      ports: [tcpPort(5432)],
      resolution: "NONE",
    });
    const { decision } = decide([onPremDb, narrow], { authority: "192.168.9.9:5432" });
    expect(decision.kind === "forward" && decision.cluster.endpoints.map((e) => e.address)).toEqual([
      "10.0.0.7",
      "10.0.0.8",
    ]);
    expect(decide([onPremDb, narrow], { authority: "192.168.7.9:5432" }).decision).toMatchObject({
      kind: "forward",
      cluster: { name: "outbound|5432||replica.on-prem.internal", originalDestination: true },
    });
  });

  it("does not claim a connection a host name already routes", () => {
    const vip = entry("vip", {
      hosts: ["cache.internal"],
      addresses: ["192.168.5.5"],
      ports: [tcpPort(5432)],
      resolution: "STATIC",
      endpoints: [{ address: "10.0.0.9" }],
    });
    expect(decide([onPremDb, vip], { authority: "192.168.5.5:5432" }).cluster).toBe(
      "outbound|5432||cache.internal",
    );
  });
});

describe("TCP: VirtualService destinationSubnets and sourceSubnet", () => {
  const subsets: StoredResource = {
    apiVersion: "networking.istio.io/v1",
    kind: "DestinationRule",
    metadata: { name: "db", namespace: "default" },
    spec: {
      host: "db.on-prem.internal",
      subsets: ["a", "b"].map((zone) => ({ name: zone, labels: { zone } })),
    },
  };
  const rules = virtualService("db", {
    hosts: ["db.on-prem.internal"],
    tcp: [
      {
        match: [{ destinationSubnets: ["192.168.1.0/24", "2001:db8:1::/48"], port: 5432 }],
        route: [{ destination: { host: "db.on-prem.internal", subset: "a" } }],
      },
      {
        match: [{ sourceSubnet: "10.20.0.0/16" }],
        route: [{ destination: { host: "db.on-prem.internal", subset: "b" } }],
      },
      { route: [{ destination: { host: "db.on-prem.internal", port: { number: 5432 } } }] },
    ],
  });
  const subsetOf = (conn: ConnectionFacts) => {
    const { decision, diagnostics } = decide([onPremDb, subsets, rules], conn);
    expect(diagnostics.filter((d) => d.severity === "error" || d.code === "JIBE2008")).toEqual([]);
    return decision.kind === "forward" ? (decision.cluster.subset ?? "all") : decision.kind;
  };

  it("matches the original destination IP against the subnets (IPv4 and IPv6)", () => {
    expect(subsetOf({ authority: "192.168.1.20:5432" })).toBe("a");
    expect(subsetOf({ authority: "[2001:db8:1:0:0:0:0:7]:5432" })).toBe("a");
    expect(subsetOf({ authority: "192.168.2.20:5432" })).toBe("all");
    expect(subsetOf({ authority: "[2001:db8:2::7]:5432" })).toBe("all");
  });

  it("matches the client's IP against sourceSubnet; an unknown IP matches no subnet", () => {
    expect(subsetOf({ authority: "192.168.2.20:5432", sourceIp: "10.20.3.4" })).toBe("b");
    expect(subsetOf({ authority: "192.168.2.20:5432", sourceIp: "::ffff:10.20.3.4" })).toBe("b");
    expect(subsetOf({ authority: "192.168.2.20:5432", sourceIp: "10.21.3.4" })).toBe("all");
    // By host name the original destination IP is unknown: destinationSubnets cannot hold.
    expect(subsetOf({ authority: "db.on-prem.internal:5432" })).toBe("all");
  });
});

describe("TCP: rules about the client workload and the gateway", () => {
  it("sourceLabels, sourceNamespace and gateways decide per proxy; port per connection", () => {
    const rules = virtualService("db", {
      hosts: ["db.on-prem.internal"],
      tcp: [
        {
          match: [{ sourceLabels: { app: "billing" } }],
          route: [{ destination: { host: "db.on-prem.internal" } }],
        },
        {
          match: [{ sourceNamespace: "ops", port: 5432 }],
          route: [{ destination: { host: "db.on-prem.internal" } }],
        },
        {
          match: [{ gateways: ["istio-system/egress"] }],
          route: [{ destination: { host: "db.on-prem.internal" } }],
        },
      ],
    });
    const origin = (proxy: ReturnType<typeof sidecar>, authority = "192.168.1.1:5432") => {
      const table = buildRouteTable(compile([onPremDb, rules], proxy).snapshot);
      const decision = decideTcpRoute(table, { authority }, () => 0);
      return decision.kind === "forward" ? decision.route.origin : decision.kind;
    };
    expect(origin(sidecar("billing"))).toBe("VirtualService/default/db#tcp0");
    expect(origin(sidecar("web", "ops"))).toBe("VirtualService/default/db#tcp1");
    // No rule applies to other sidecars (the gateway rule is the egress gateway's): as in Istio,
    // the host's own default route takes the connection.
    expect(origin(sidecar("web"))).toBe("ServiceEntry/default/on-prem-db#default");
    expect(origin(sidecar("web", "ops"), "[2001:db8::1]:5433")).toBe(
      "MeshConfig/default#outboundTrafficPolicy",
    );
  });
});
