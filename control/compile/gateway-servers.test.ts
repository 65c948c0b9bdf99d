import { describe, expect, it } from "vitest";
import type { StoredResource } from "../../broker/events.ts";
import { compile } from "./compile.ts";
import { forwardsTcp } from "./gateway-servers.ts";
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

  it("carries every server TLS setting to the gateway, which enforces them all (no JIBE2008)", () => {
    const pinned = [
      ...servers,
      {
        port: { number: 9443, name: "pinned", protocol: "HTTPS" },
        hosts: ["pinned.example.com"],
        tls: {
          mode: "MUTUAL",
          tlsCertificates: [
            { serverCertificate: "/rsa.pem", privateKey: "/rsa.key" },
            { serverCertificate: "/ec.pem", privateKey: "/ec.key" },
          ],
          caCertificates: "/ca.pem",
          caCrl: "/crl.pem",
          verifyCertificateHash: ["AB:CD"],
          verifyCertificateSpki: ["base64=="],
        },
      },
    ];
    const { snapshot, diagnostics } = compile(
      [...bookinfoMesh(), gatewayResource(pinned), passthroughVs],
      ingress,
    );
    expect(diagnostics.filter((d) => d.code === "JIBE2008")).toEqual([]);
    expect(snapshot.gatewayServers?.find((s) => s.port === 9443)?.tls).toEqual({
      mode: "MUTUAL",
      tlsCertificates: [
        { serverCertificate: "/rsa.pem", privateKey: "/rsa.key" },
        { serverCertificate: "/ec.pem", privateKey: "/ec.key" },
      ],
      caCertificates: "/ca.pem",
      caCrl: "/crl.pem",
      verifyCertificateHash: ["AB:CD"],
      verifyCertificateSpki: ["base64=="],
    });
    expect(snapshot.gatewayServers?.find((s) => s.port === 8443)?.tls).toEqual({ mode: "ISTIO_MUTUAL" });
  });

  it("gives TCP servers and TLS servers terminated at the gateway the first tcp route bound to them", () => {
    const tcpServers = [
      {
        port: { number: 15443, name: "tls-echo", protocol: "TLS" },
        hosts: ["echo.example.com"],
        tls: { mode: "SIMPLE", credentialName: "echo" },
      },
      { port: { number: 3306, name: "tcp-db", protocol: "TCP" }, hosts: ["*"] },
      {
        port: { number: 27017, name: "mongo", protocol: "MONGO" },
        hosts: ["mongo.example.com"],
      },
    ];
    const tcpVs = virtualService("echo", {
      hosts: ["echo.example.com", "db.example.com"],
      gateways: ["public"],
      tcp: [
        { match: [{ port: 3306 }], route: [{ destination: { host: "ratings", port: { number: 9080 } } }] },
        {
          route: [
            { destination: { host: "details" }, weight: 75 },
            { destination: { host: "reviews", subset: "v1" }, weight: 25 },
          ],
        },
      ],
    });
    const { snapshot, diagnostics } = compile(
      [...bookinfoMesh(), gatewayResource(tcpServers), tcpVs],
      ingress,
    );
    const byPort = new Map(snapshot.gatewayServers?.map((s) => [s.port, s]));
    // Port 15443: the first rule is for port 3306 only, so the second (weighted) one applies.
    expect(byPort.get(15443)?.tcpRoute).toEqual({
      origin: "VirtualService/default/echo#tcp1",
      destinations: [
        { cluster: "outbound|9080||details.default.svc.cluster.local", weight: 75 },
        { cluster: "outbound|9080|v1|reviews.default.svc.cluster.local", weight: 25 },
      ],
    });
    expect(byPort.get(3306)?.tcpRoute?.origin).toBe("VirtualService/default/echo#tcp0");
    // No VirtualService host falls within mongo.example.com: reported, connections closed.
    expect(byPort.get(27017)?.tcpRoute).toBeUndefined();
    expect(diagnostics.find((d) => d.code === "JIBE2044")).toMatchObject({
      resource: "Gateway/default/public",
      path: "spec.servers[2]",
    });
  });

  it("tells TCP-forwarding servers from HTTP and passthrough ones", () => {
    expect(forwardsTcp({ protocol: "TCP" })).toBe(true);
    expect(forwardsTcp({ protocol: "TLS", tls: { mode: "ISTIO_MUTUAL" } })).toBe(true);
    expect(forwardsTcp({ protocol: "TLS", tls: { mode: "PASSTHROUGH" } })).toBe(false);
    expect(forwardsTcp({ protocol: "TLS", tls: { mode: "AUTO_PASSTHROUGH" } })).toBe(false);
    expect(forwardsTcp({ protocol: "HTTPS", tls: { mode: "SIMPLE" } })).toBe(false);
    expect(forwardsTcp({ protocol: "HTTP" })).toBe(false);
  });

  it("gives no servers to sidecars or to gateways the selector does not match", () => {
    expect(compile([gatewayResource(servers)], sidecar()).snapshot.gatewayServers).toBeUndefined();
    const other = compile([gatewayResource(servers, { istio: "egressgateway" })], ingress);
    expect(other.snapshot.gatewayServers).toBeUndefined();
  });
});
