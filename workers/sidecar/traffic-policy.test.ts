import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { silentLogger } from "../../broker/logger.ts";
import { RESPONSE_FLAGS_HEADER } from "../engine/index.ts";
import { type Sidecar, startSidecar } from "./sidecar.ts";
import {
  type Answer,
  call,
  service,
  startTestApp,
  startTestMesh,
  type TestApp,
  type TestMesh,
  virtualService,
  workloadEntry,
} from "./test-mesh.ts";

/**
 * DestinationRule traffic policies on a real sidecar: consistent hashing, connection pool limits
 * (503 UO) and outlier detection, against plain upstream apps.
 */

let mesh: TestMesh;
let client: Sidecar;
const apps = new Map<string, TestApp>();
const stops: Array<() => Promise<void>> = [];

const applyAndWait = (...documents: object[]) => mesh.applyAndWait([client], ...documents);

function destinationRule(host: string, trafficPolicy: object): object {
  return {
    apiVersion: "networking.istio.io/v1",
    kind: "DestinationRule",
    metadata: { name: host, namespace: "default" },
    spec: { host, trafficPolicy },
  };
}

const appOf = (a: Answer) => (JSON.parse(a.body) as { app: string }).app;
const get = (host: string, path = "/", headers: Record<string, string> = {}) =>
  call(client.outboundPort, `${host}:9080`, path, { headers });

/** Starts apps `<service>-<n>` behind Service `<service>`, one WorkloadEntry each. */
async function backends(name: string, count: number, failing: string[] = []): Promise<object[]> {
  const docs: object[] = [service(name)];
  for (let i = 1; i <= count; i++) {
    const app = `${name}-${i}`;
    const running = await startTestApp(app, (_req, res) => {
      if (!failing.includes(app)) return false;
      res.writeHead(503).end("broken");
      return true;
    });
    apps.set(app, running);
    stops.push(() => running.stop());
    docs.push(workloadEntry(app, { app: name, version: `v${i}` }, running.port));
  }
  return docs;
}

beforeAll(async () => {
  mesh = await startTestMesh();
  const self = await startTestApp("client");
  stops.push(() => self.stop());
  client = await startSidecar({
    nc: mesh.nc,
    verifier: mesh.verifier,
    proxy: { id: "sidecar~client~default", role: "sidecar", namespace: "default", labels: { app: "client" } },
    appPort: self.port,
    log: silentLogger,
  });
  stops.push(() => client.stop());
});

afterAll(async () => {
  for (const stop of stops.reverse()) await stop();
  await mesh?.stop();
});

describe("sidecar: DestinationRule consistentHash", () => {
  it("sends the same header value to the same endpoint, and different values across endpoints", async () => {
    await applyAndWait(
      ...(await backends("sticky", 3)),
      destinationRule("sticky", { loadBalancer: { consistentHash: { httpHeaderName: "x-user" } } }),
    );
    const seen = new Set<string>();
    for (let u = 0; u < 12; u++) {
      const answers = await Promise.all(
        Array.from({ length: 4 }, () => get("sticky", "/", { "x-user": `user-${u}` })),
      );
      const per = new Set(answers.map(appOf));
      expect(per.size).toBe(1);
      for (const a of per) seen.add(a);
    }
    expect(seen.size).toBeGreaterThan(1);
  });

  it("generates the cookie when absent (ttl) and keeps a client carrying it on one endpoint", async () => {
    await applyAndWait(
      ...(await backends("cookie", 3)),
      destinationRule("cookie", {
        loadBalancer: { consistentHash: { httpCookie: { name: "jibe-sticky", path: "/", ttl: "60s" } } },
      }),
    );
    const first = await get("cookie");
    const setCookie = first.headers["set-cookie"]?.[0] ?? "";
    expect(setCookie).toMatch(/^jibe-sticky="[0-9a-f]{16}"; Max-Age=60; Path=\/; HttpOnly$/);
    const cookie = setCookie.split(";")[0] ?? "";
    const again = await Promise.all(Array.from({ length: 8 }, () => get("cookie", "/", { cookie })));
    expect(new Set(again.map(appOf))).toEqual(new Set([appOf(first)]));
    expect(again.every((a) => a.headers["set-cookie"] === undefined)).toBe(true);
  });
});

describe("sidecar: DestinationRule connectionPool", () => {
  it("answers 503 UO beyond maxConnections + http1MaxPendingRequests, and serves the queued one", async () => {
    await applyAndWait(
      ...(await backends("limited", 1)),
      destinationRule("limited", {
        connectionPool: { tcp: { maxConnections: 1 }, http: { http1MaxPendingRequests: 1 } },
      }),
    );
    const answers = await Promise.all(Array.from({ length: 4 }, () => get("limited", "/?delay=500")));
    expect(answers.map((a) => a.status).sort()).toEqual([200, 200, 503, 503]);
    for (const a of answers.filter((x) => x.status === 503))
      expect(a.headers[RESPONSE_FLAGS_HEADER]).toBe("UO");
    expect(apps.get("limited-1")?.requests).toBe(2);
    expect(
      client.stats().trafficPolicy.connectionPools[`outbound|9080||limited.default.svc.cluster.local`],
    ).toEqual({
      active: 0,
      pending: 0,
      overflows: 2,
    });
    // Limits free up once requests finish.
    expect((await get("limited")).status).toBe(200);
  });
});

describe("sidecar: DestinationRule connectionPool per connection", () => {
  it("closes connections after maxRequestsPerConnection, and idle ones after idleTimeout", async () => {
    await applyAndWait(
      ...(await backends("perconn", 1)),
      ...(await backends("idle", 1)),
      destinationRule("perconn", { connectionPool: { http: { maxRequestsPerConnection: 2 } } }),
      destinationRule("idle", { connectionPool: { http: { idleTimeout: "100ms" } } }),
    );
    for (let i = 0; i < 6; i++) expect((await get("perconn")).status).toBe(200);
    expect(apps.get("perconn-1")?.connections).toBe(3);
    expect((await get("idle")).status).toBe(200);
    expect((await get("idle")).status).toBe(200);
    expect(apps.get("idle-1")?.connections).toBe(1);
    await new Promise((r) => setTimeout(r, 250));
    expect((await get("idle")).status).toBe(200);
    expect(apps.get("idle-1")?.connections).toBe(2);
  });
});

describe("sidecar: DestinationRule outlierDetection", () => {
  it("ejects a failing endpoint, moves traffic to the healthy one, and returns it after baseEjectionTime", async () => {
    await applyAndWait(
      ...(await backends("flaky", 2, ["flaky-1"])),
      destinationRule("flaky", {
        loadBalancer: { simple: "ROUND_ROBIN" },
        outlierDetection: {
          consecutive5xxErrors: 2,
          interval: "50ms",
          baseEjectionTime: "1500ms",
          maxEjectionPercent: 100,
        },
      }),
      virtualService("flaky", [{ route: [{ destination: { host: "flaky" } }], retries: { attempts: 0 } }]),
    );
    const bad = apps.get("flaky-1");
    const statuses: number[] = [];
    for (let i = 0; i < 10; i++) statuses.push((await get("flaky")).status);
    expect(bad?.requests).toBe(2);
    expect(client.stats().trafficPolicy.ejected).toEqual({
      "outbound|9080||flaky.default.svc.cluster.local": [`127.0.0.1:${bad?.port}`],
    });
    expect(statuses.filter((s) => s === 503)).toHaveLength(2);
    expect(statuses.slice(4)).toEqual(Array(6).fill(200));
    await new Promise((r) => setTimeout(r, 1_600));
    for (let i = 0; i < 4; i++) await get("flaky");
    expect(bad?.requests).toBeGreaterThan(2);
  });
});
