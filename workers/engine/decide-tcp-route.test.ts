import { describe, expect, it } from "vitest";
import { compile } from "../../control/compile/compile.ts";
import {
  outboundTrafficPolicy,
  service,
  sidecar,
  virtualService,
  workloadEntry,
} from "../../control/compile/test-resources.ts";
import { decideTcpRoute } from "./decide-tcp-route.ts";
import { buildRouteTable } from "./route-table.ts";

const mysql = {
  ...service("mysql"),
  spec: { selector: { app: "mysql" }, ports: [{ name: "mysql", port: 3306 }] },
};
const subsets = {
  apiVersion: "networking.istio.io/v1",
  kind: "DestinationRule",
  metadata: { name: "mysql", namespace: "default" },
  spec: { host: "mysql", subsets: ["v1", "v2"].map((v) => ({ name: v, labels: { version: v } })) },
};
const endpoints = [
  workloadEntry("mysql", "v1", 0, { ports: { mysql: 13306 } }),
  workloadEntry("mysql", "v2", 0, { ports: { mysql: 23306 } }),
];

describe("decideTcpRoute", () => {
  it("routes a connection to the Service's cluster without a VirtualService", () => {
    const table = buildRouteTable(compile([mysql, ...endpoints], sidecar()).snapshot);
    const decision = decideTcpRoute(table, { authority: "mysql:3306" }, () => 0);
    expect(decision.kind === "forward" && decision.cluster.endpoints.map((e) => e.port)).toEqual([
      13306, 23306,
    ]);
    expect(decideTcpRoute(table, { authority: "mysql" }, () => 0).kind).toBe("noRoute");
  });

  it("passes a destination outside the registry through (ALLOW_ANY); REGISTRY_ONLY blocks it 502", () => {
    const open = buildRouteTable(compile([mysql, ...endpoints], sidecar()).snapshot);
    expect(decideTcpRoute(open, { authority: "db.example.org:5432" }, () => 0)).toMatchObject({
      kind: "forward",
      cluster: { name: "PassthroughCluster", originalDestination: true },
    });
    const closed = buildRouteTable(
      compile([mysql, ...endpoints, outboundTrafficPolicy("REGISTRY_ONLY")], sidecar()).snapshot,
    );
    expect(decideTcpRoute(closed, { authority: "db.example.org:5432" }, () => 0)).toMatchObject({
      kind: "blocked",
      status: 502,
      route: { origin: "Sidecar/default/default#outboundTrafficPolicy" },
    });
    expect(decideTcpRoute(closed, { authority: "mysql:3306" }, () => 0).kind).toBe("forward");
  });

  it("splits connections by the weights of a VirtualService tcp rule", () => {
    const split = virtualService("mysql", {
      hosts: ["mysql"],
      tcp: [
        {
          match: [{ port: 3306 }],
          route: [
            { destination: { host: "mysql", subset: "v1" }, weight: 75 },
            { destination: { host: "mysql", subset: "v2" }, weight: 25 },
          ],
        },
      ],
    });
    const table = buildRouteTable(compile([mysql, subsets, split, ...endpoints], sidecar()).snapshot);
    const subsetAt = (r: number) => {
      const d = decideTcpRoute(table, { authority: "mysql.default.svc.cluster.local:3306" }, () => r);
      return d.kind === "forward" ? d.cluster.subset : d.kind;
    };
    expect([subsetAt(0), subsetAt(0.74), subsetAt(0.76), subsetAt(0.99)]).toEqual(["v1", "v1", "v2", "v2"]);
  });

  it("fails closed (noCluster) when the picked subset has no cluster", () => {
    const broken = virtualService("mysql", {
      hosts: ["mysql"],
      tcp: [{ route: [{ destination: { host: "mysql", subset: "v9" } }] }],
    });
    const table = buildRouteTable(compile([mysql, broken, ...endpoints], sidecar()).snapshot);
    expect(decideTcpRoute(table, { authority: "mysql:3306" }, () => 0)).toMatchObject({
      kind: "noCluster",
      cluster: "outbound|3306|v9|mysql.default.svc.cluster.local",
    });
  });
});
