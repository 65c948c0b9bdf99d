import { once } from "node:events";
import { request as httpRequest, type IncomingMessage } from "node:http";
import { type AddressInfo, createServer as createTcpServer, type Server, type Socket } from "node:net";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { silentLogger } from "../../broker/logger.ts";
import { type Sidecar, startSidecar } from "./sidecar.ts";
import { startTestMesh, type TestMesh } from "./test-mesh.ts";

/**
 * TCP traffic matched by address on a real sidecar: a ServiceEntry with CIDR `addresses` takes
 * tunnels to any address of its blocks (IPv4 and IPv6), VirtualService `tcp` rules pick a subset by
 * `destinationSubnets` / `sourceSubnet`, endpoint `weight`s shape the split, a `resolution:
 * NONE` block connects to the address itself, and entries of one host merge their endpoints. The "on-prem" databases are loopback greeting apps;
 * the blocks are documentation ranges (192.0.2.0/24, 2001:db8::/32) nothing listens on.
 */

let mesh: TestMesh;
let client: Sidecar;
let apps: { a: number; b: number };
const stops: Array<() => Promise<void> | void> = [];

const ISTIO = "networking.istio.io/v1";
const doc = (kind: string, name: string, spec: object) => ({
  apiVersion: ISTIO,
  kind,
  metadata: { name, namespace: "default" },
  spec,
});
const HOST = "db.on-prem.internal";

async function startGreetingApp(greeting: string): Promise<Server> {
  const server = createTcpServer((socket) => {
    socket.write(greeting);
    socket.on("error", () => {});
  });
  server.listen(0, "127.0.0.1");
  await once(server, "listening");
  return server;
}

/** CONNECT through the outbound listener; the status and, when open, the first bytes the server sent. */
function tunnel(authority: string): Promise<{ status: number; greeting: string }> {
  return new Promise((resolve, reject) => {
    const req = httpRequest({
      host: "127.0.0.1",
      port: client.outboundPort,
      method: "CONNECT",
      path: authority,
    });
    req.once("connect", (res: IncomingMessage, socket: Socket, head: Buffer) => {
      const status = res.statusCode ?? 0;
      const done = (greeting: string) => {
        socket.destroy();
        resolve({ status, greeting });
      };
      if (status !== 200 || head.length > 0) return done(head.toString());
      socket.once("data", (chunk: Buffer) => done(chunk.toString()));
    });
    req.once("error", reject);
    req.end();
  });
}

const onPremDb = (endpoints: object[]) =>
  doc("ServiceEntry", "on-prem-db", {
    hosts: [HOST],
    addresses: ["192.0.2.0/24", "2001:db8::/32"],
    ports: [{ number: 5432, name: "tcp", protocol: "TCP" }],
    location: "MESH_INTERNAL",
    resolution: "STATIC",
    endpoints,
  });
const zones = () => [
  { address: "127.0.0.1", ports: { tcp: apps.a }, labels: { zone: "a" } },
  { address: "127.0.0.1", ports: { tcp: apps.b }, labels: { zone: "b" } },
];
const byZone = (tcp: object[]) => doc("VirtualService", "db", { hosts: [HOST], tcp });
const toZone = (zone: string) => [{ destination: { host: HOST, subset: zone } }];

beforeAll(async () => {
  mesh = await startTestMesh();
  const a = await startGreetingApp("HELLO a\n");
  const b = await startGreetingApp("HELLO b\n");
  for (const server of [a, b])
    stops.push(() => new Promise<void>((resolve) => server.close(() => resolve())));
  apps = { a: (a.address() as AddressInfo).port, b: (b.address() as AddressInfo).port };
  client = await startSidecar({
    nc: mesh.nc,
    verifier: mesh.verifier,
    proxy: { id: "sidecar~client~default", role: "sidecar", namespace: "default", labels: { app: "client" } },
    appPort: apps.a,
    log: silentLogger,
  });
  stops.push(() => client.stop());
  await mesh.applyAndWait(
    [client],
    onPremDb(zones()),
    doc("DestinationRule", "db", {
      host: HOST,
      subsets: ["a", "b"].map((zone) => ({ name: zone, labels: { zone } })),
    }),
  );
});

afterAll(async () => {
  for (const stop of stops.reverse()) await stop();
  await mesh?.stop();
});

describe("sidecar: TCP by original destination address", () => {
  it("routes tunnels to any address of the entry's CIDR blocks by destinationSubnets, and counts them as the entry's", async () => {
    await mesh.applyAndWait(
      [client],
      byZone([
        { match: [{ destinationSubnets: ["192.0.2.128/25", "2001:db8:b::/48"] }], route: toZone("b") },
        { route: toZone("a") },
      ]),
    );
    expect(await tunnel("192.0.2.10:5432")).toEqual({ status: 200, greeting: "HELLO a\n" });
    expect(await tunnel("192.0.2.200:5432")).toEqual({ status: 200, greeting: "HELLO b\n" });
    expect(await tunnel("[2001:db8:a::5]:5432")).toEqual({ status: 200, greeting: "HELLO a\n" });
    expect(await tunnel("[2001:db8:b::5]:5432")).toEqual({ status: 200, greeting: "HELLO b\n" });
    await new Promise((resolve) => setTimeout(resolve, 50));
    expect(await client.metrics()).toMatch(
      /istio_tcp_connections_opened_total\{reporter="source"[^}]*destination_service="db\.on-prem\.internal"[^}]*\} [1-9]/,
    );
  });

  it("matches sourceSubnet against the client's address (loopback here)", async () => {
    await mesh.applyAndWait(
      [client],
      byZone([{ match: [{ sourceSubnet: "10.0.0.0/8" }], route: toZone("b") }, { route: toZone("a") }]),
    );
    expect((await tunnel("192.0.2.10:5432")).greeting).toBe("HELLO a\n");
    await mesh.applyAndWait(
      [client],
      byZone([{ match: [{ sourceSubnet: "127.0.0.0/8" }], route: toZone("b") }, { route: toZone("a") }]),
    );
    expect((await tunnel("192.0.2.10:5432")).greeting).toBe("HELLO b\n");
  });

  it("splits connections by endpoint weight (ROUND_ROBIN: exactly 1 in 4 to the weight-1 endpoint)", async () => {
    const [za, zb] = zones() as [object, object];
    await mesh.applyAndWait(
      [client],
      byZone([{ route: [{ destination: { host: HOST } }] }]),
      onPremDb([za, { ...zb, weight: 3 }]),
      doc("DestinationRule", "db", {
        host: HOST,
        trafficPolicy: { loadBalancer: { simple: "ROUND_ROBIN" } },
        subsets: ["a", "b"].map((zone) => ({ name: zone, labels: { zone } })),
      }),
    );
    const greetings: string[] = [];
    for (let i = 0; i < 8; i++) greetings.push((await tunnel(`192.0.2.${i + 1}:5432`)).greeting);
    expect(greetings.filter((g) => g === "HELLO a\n")).toHaveLength(2);
    expect(greetings.filter((g) => g === "HELLO b\n")).toHaveLength(6);
  });

  it("resolution NONE: a tunnel into the block goes to the address it names", async () => {
    await mesh.applyAndWait(
      [client],
      doc("ServiceEntry", "loopback-range", {
        hosts: ["loopback.internal"],
        addresses: ["127.0.0.0/8"],
        ports: [{ number: apps.b, name: "tcp", protocol: "TCP" }],
        resolution: "NONE",
      }),
    );
    expect(await tunnel(`127.0.0.1:${apps.b}`)).toEqual({ status: 200, greeting: "HELLO b\n" });
    await new Promise((resolve) => setTimeout(resolve, 50));
    expect(await client.metrics()).toMatch(
      /istio_tcp_connections_opened_total\{reporter="source"[^}]*destination_service="loopback\.internal"/,
    );
  });
});

describe("sidecar: several ServiceEntries for one host", () => {
  it("merges the endpoints of entries that agree (Istio keys endpoints by host and namespace)", async () => {
    const pool = (name: string, port: number, created: string) => ({
      ...doc("ServiceEntry", name, {
        hosts: ["pool.internal"],
        ports: [{ number: 6000, name: "tcp", protocol: "TCP" }],
        resolution: "STATIC",
        endpoints: [{ address: "127.0.0.1", ports: { tcp: port } }],
      }),
      metadata: { name, namespace: "default", creationTimestamp: created },
    });
    await mesh.applyAndWait(
      [client],
      pool("pool-a", apps.a, "2026-01-01T00:00:00Z"),
      pool("pool-b", apps.b, "2026-01-02T00:00:00Z"),
      doc("DestinationRule", "pool", {
        host: "pool.internal",
        trafficPolicy: { loadBalancer: { simple: "ROUND_ROBIN" } },
      }),
    );
    const greetings = new Set<string>();
    for (let i = 0; i < 4; i++) greetings.add((await tunnel("pool.internal:6000")).greeting);
    expect([...greetings].sort()).toEqual(["HELLO a\n", "HELLO b\n"]);
  });
});
