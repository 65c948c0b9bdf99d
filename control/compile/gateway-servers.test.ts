import { describe, expect, it } from "vitest";
import type { StoredResource } from "../../broker/events.ts";
import { compile } from "./compile.ts";
import type { ProxyIdentity } from "./snapshot.ts";
import { bookinfoMesh, sidecar, virtualService } from "./test-resources.ts";

const ingress: ProxyIdentity = {
  id: "gateway~ingress~istio-system",
  role: "gateway",
  namespace: "istio-system",
  labels: { istio: "ingressgateway" },
};

const gatewayResource = (servers: unknown, selector = { istio: "ingressgateway" }): StoredResource => ({
  apiVersion: "networking.istio.io/v1",
  kind: "Gateway",
  metadata: { name: "public", namespace: "default" },
  spec: { selector, servers },
});

const servers = [
  {
    port: { number: 443, name: "https", protocol: "HTTPS" },
    hosts: ["default/shop.example.com"],
    tls: { mode: "SIMPLE", credentialName: "shop" },
  },
  {
    port: { number: 15443, name: "tls", protocol: "TLS" },
    hosts: ["*.db.example.com"],
    tls: { mode: "PASSTHROUGH" },
  },
  { port: { number: 8443, name: "istio", protocol: "HTTPS" }, hosts: ["*"], tls: { mode: "ISTIO_MUTUAL" } },
];
const passthroughVs = virtualService("db", {
  hosts: ["*.db.example.com", "other.example.com"],
  gateways: ["public"],
  tls: [
    {
      match: [{ sniHosts: ["a.db.example.com"], port: 15443 }],
      route: [{ destination: { host: "ratings" } }],
    },
    { match: [{ sniHosts: ["other.example.com"] }], route: [{ destination: { host: "details" } }] },
    { match: [{ sniHosts: ["b.db.example.com"] }], route: [{ destination: { host: "nowhere" } }] },
  ],
});

describe("gateway servers in the snapshot", () => {
  it("lists the servers of the Gateways selecting the proxy, with TLS settings and SNI routes for PASSTHROUGH", () => {
    const { snapshot, diagnostics } = compile(
      [...bookinfoMesh(), gatewayResource(servers), passthroughVs],
      ingress,
    );
    const byPort = new Map(snapshot.gatewayServers?.map((s) => [s.port, s]));
    expect(byPort.get(443)).toMatchObject({
      protocol: "HTTPS",
      hosts: ["shop.example.com"],
      tls: { mode: "SIMPLE", credentialName: "shop" },
    });
    // Only the rule whose SNI is within the server's hosts; the unknown destination is reported and dropped.
    expect(byPort.get(15443)?.sniRoutes).toEqual([
      {
        origin: "VirtualService/default/db#tls0",
        sniHosts: ["a.db.example.com"],
        destinations: [{ cluster: "outbound|9080||ratings.default.svc.cluster.local", weight: 100 }],
      },
      { origin: "VirtualService/default/db#tls2", sniHosts: ["b.db.example.com"], destinations: [] },
    ]);
    expect(diagnostics.find((d) => d.code === "JIBE2043")?.path).toBe("spec.tls[2].route[0].destination");
  });

  it("reports what no Jibe gateway serves (ISTIO_MUTUAL) and nothing for SIMPLE or PASSTHROUGH", () => {
    const { diagnostics } = compile([...bookinfoMesh(), gatewayResource(servers), passthroughVs], ingress);
    expect(diagnostics.filter((d) => d.code === "JIBE2008").map((d) => d.path)).toEqual([
      "spec.servers[2].tls.mode",
    ]);
  });

  it("gives no servers to sidecars or to gateways the selector does not match", () => {
    expect(compile([gatewayResource(servers)], sidecar()).snapshot.gatewayServers).toBeUndefined();
    const other = compile([gatewayResource(servers, { istio: "egressgateway" })], ingress);
    expect(other.snapshot.gatewayServers).toBeUndefined();
  });
});
