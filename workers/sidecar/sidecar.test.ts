import { createHash, randomBytes } from "node:crypto";
import { Agent, request } from "node:http";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createSigner, generateSigningKey, signEvent } from "../../broker/envelope.ts";
import { silentLogger } from "../../broker/logger.ts";
import { subjectFor } from "../../broker/subjects.ts";
import { RESPONSE_FLAGS_HEADER, ROUTE_HEADER } from "../engine/index.ts";
import { type Sidecar, startSidecar } from "./sidecar.ts";
import {
  type Answer,
  call,
  freePort,
  service,
  startTestApp,
  startTestMesh,
  type TestApp,
  type TestMesh,
  versionSubsets,
  virtualService,
  waitFor,
  workloadEntry,
} from "./test-mesh.ts";

/**
 * Real nats-server, real sidecars, real HTTP: a client app's sidecar (outbound) reaches reviews v1/v2
 * through their sidecars (inbound) and a few plain upstream apps directly.
 */

let mesh: TestMesh;
let client: Sidecar;
let reviewsV1: { app: TestApp; sidecar: Sidecar };
let reviewsV2: { app: TestApp; sidecar: Sidecar };
let details: TestApp;
let resetting: TestApp;
let staleAfterOne: TestApp;
const stops: Array<() => Promise<void>> = [];

const toV1 = virtualService("reviews", [{ route: [{ destination: { host: "reviews", subset: "v1" } }] }]);
const toV2 = virtualService("reviews", [{ route: [{ destination: { host: "reviews", subset: "v2" } }] }]);

async function sidecarFor(app: string, version: string, appPort: number): Promise<Sidecar> {
  const sidecar = await startSidecar({
    nc: mesh.nc,
    verifier: mesh.verifier,
    proxy: {
      id: `sidecar~${app}-${version}~default`,
      role: "sidecar",
      namespace: "default",
      labels: { app, version },
    },
    appPort,
    log: silentLogger,
  });
  stops.push(() => sidecar.stop());
  return sidecar;
}

async function workload(app: string, version: string) {
  const running = await startTestApp(`${app}-${version}`);
  stops.push(() => running.stop());
  return { app: running, sidecar: await sidecarFor(app, version, running.port) };
}

const applyEverywhere = (...documents: object[]) =>
  mesh.applyAndWait([client, reviewsV1.sidecar, reviewsV2.sidecar], ...documents);

function outbound(authority: string, path = "/", options: Parameters<typeof call>[3] = {}): Promise<Answer> {
  return call(client.outboundPort, authority, path, options);
}

function servedBy(answer: Answer): string {
  expect(answer.status, answer.body).toBe(200);
  return (JSON.parse(answer.body) as { app: string }).app;
}

beforeAll(async () => {
  mesh = await startTestMesh();
  const sleep = await startTestApp("sleep");
  stops.push(() => sleep.stop());
  client = await sidecarFor("sleep", "v1", sleep.port);
  reviewsV1 = await workload("reviews", "v1");
  reviewsV2 = await workload("reviews", "v2");
  details = await startTestApp("details");
  resetting = await startTestApp("resetting", (req) => {
    req.socket.destroy();
    return true;
  });
  // Drops a kept-alive connection the moment a second request arrives on it, as a server that
  // timed out the idle connection just as the proxy reused it would.
  const requestsPerSocket = new WeakMap<object, number>();
  staleAfterOne = await startTestApp("stale-after-one", (req) => {
    const count = (requestsPerSocket.get(req.socket) ?? 0) + 1;
    requestsPerSocket.set(req.socket, count);
    if (count === 1) return false;
    req.socket.destroy();
    return true;
  });
  stops.push(
    () => details.stop(),
    () => resetting.stop(),
    () => staleAfterOne.stop(),
  );
  await applyEverywhere(
    service("reviews"),
    workloadEntry("reviews-v1", { app: "reviews", version: "v1" }, reviewsV1.sidecar.inboundPort),
    workloadEntry("reviews-v2", { app: "reviews", version: "v2" }, reviewsV2.sidecar.inboundPort),
    versionSubsets("reviews", ["v1", "v2"]),
    toV1,
    // Plain apps without a sidecar (a VM workload): the client's outbound connects to them directly.
    service("details"),
    workloadEntry("details", { app: "details" }, details.port),
    virtualService("details", [
      {
        match: [{ uri: { prefix: "/timed" } }],
        timeout: "0.2s",
        route: [{ destination: { host: "details" } }],
      },
      { route: [{ destination: { host: "details" } }] },
    ]),
    service("ratings"), // no workload: no endpoint
    service("gone"),
    workloadEntry("gone", { app: "gone" }, await freePort()),
    service("resetting"),
    workloadEntry("resetting", { app: "resetting" }, resetting.port),
    service("stale"),
    workloadEntry("stale", { app: "stale" }, staleAfterOne.port),
  );
}, 60_000);

afterAll(async () => {
  for (const stop of stops.reverse()) await stop().catch(() => {});
  await mesh?.stop();
});

describe("sidecar routing", () => {
  it("carries a request app → outbound sidecar → inbound sidecar → app, routed by the Host header", async () => {
    const answer = await outbound("reviews:9080", "/reviews/0");
    expect(servedBy(answer)).toBe("reviews-v1");
    expect(answer.headers[ROUTE_HEADER]).toBe("VirtualService/default/reviews#0");
    expect(answer.headers[RESPONSE_FLAGS_HEADER]).toBeUndefined();
    const seen = reviewsV1.app.lastHeaders;
    expect(seen.host).toBe("reviews:9080");
    expect(seen["x-request-id"]).toMatch(/^[0-9a-f-]{36}$/);
    expect(seen["x-forwarded-for"]).toContain("127.0.0.1");
    expect(seen["x-forwarded-proto"]).toBe("http");
  });

  it("keeps the caller's x-request-id and takes the target from an absolute-form URI", async () => {
    const answer = await outbound("somewhere.else", "http://reviews:9080/abs", {
      headers: { "x-request-id": "abc-123" },
    });
    expect(servedBy(answer)).toBe("reviews-v1");
    expect(reviewsV1.app.lastHeaders["x-request-id"]).toBe("abc-123");
    expect(reviewsV1.app.lastHeaders.host).toBe("reviews:9080");
  });

  it("routes to subsets of a DestinationRule as the VirtualService says, header matches first", async () => {
    await applyEverywhere(
      virtualService("reviews", [
        {
          match: [{ headers: { "end-user": { exact: "jason" } } }],
          route: [{ destination: { host: "reviews", subset: "v2" } }],
        },
        { route: [{ destination: { host: "reviews", subset: "v1" } }] },
      ]),
    );
    const jason = await outbound("reviews:9080", "/", { headers: { "end-user": "jason" } });
    expect(servedBy(jason)).toBe("reviews-v2");
    expect(jason.headers[ROUTE_HEADER]).toBe("VirtualService/default/reviews#0");
    const anyone = await outbound("reviews:9080", "/");
    expect(servedBy(anyone)).toBe("reviews-v1");
    expect(anyone.headers[ROUTE_HEADER]).toBe("VirtualService/default/reviews#1");
    await applyEverywhere(toV1);
  });

  it("applies policy updates under a steady stream of requests without failing any", async () => {
    const results: Answer[] = [];
    let running = true;
    const agents: Agent[] = [];
    const worker = async () => {
      const agent = new Agent({ keepAlive: true });
      agents.push(agent);
      while (running) results.push(await outbound("reviews:9080", "/stream", { agent }));
    };
    const workers = Array.from({ length: 4 }, worker);
    for (let flip = 0; flip < 12; flip++) {
      await mesh.apply(flip % 2 === 0 ? toV2 : toV1);
      await new Promise((resolve) => setTimeout(resolve, 60));
    }
    running = false;
    await Promise.all(workers);
    for (const agent of agents) agent.destroy();
    await applyEverywhere(toV1);

    const failures = results.filter((r) => r.status !== 200);
    expect(failures.map((r) => `${r.status} ${r.body}`)).toEqual([]);
    expect(results.length).toBeGreaterThan(50);
    expect(new Set(results.map(servedBy))).toEqual(new Set(["reviews-v1", "reviews-v2"]));
  });

  it("drops a forged event and an unsigned one, keeping the last good routes", async () => {
    const before = client.snapshot().version;
    const rejectedBefore = totalRejected(client);
    const forger = await createSigner((await generateSigningKey()).privateJwk);
    const resource = {
      apiVersion: "networking.istio.io/v1",
      kind: "VirtualService",
      metadata: { name: "reviews", namespace: "default" },
      spec: { hosts: ["reviews"], http: [{ route: [{ destination: { host: "reviews", subset: "v2" } }] }] },
    };
    const event = {
      type: "resource.applied" as const,
      ref: { kind: "VirtualService", namespace: "default", name: "reviews" },
      revision: client.snapshot().revision + 1,
      resource,
    };
    mesh.nc.publish(subjectFor(event), await signEvent(forger, event, Date.now()));
    mesh.nc.publish(subjectFor(event), JSON.stringify(event));
    await mesh.nc.flush();
    await waitFor(() => totalRejected(client) >= rejectedBefore + 2, 5_000, "two rejections");

    expect(client.stats().sync.rejected["unknown-key"]).toBeGreaterThanOrEqual(1);
    expect(client.snapshot().version).toBe(before);
    expect(servedBy(await outbound("reviews:9080"))).toBe("reviews-v1");
    // The real control plane's next change still applies.
    await applyEverywhere(toV2);
    expect(servedBy(await outbound("reviews:9080"))).toBe("reviews-v2");
    await applyEverywhere(toV1);
  });
});

describe("sidecar connections and bodies", () => {
  it("reuses keep-alive connections to upstreams (outbound → app, and inbound → local app)", async () => {
    const detailsBefore = details.connections;
    const appBefore = reviewsV1.app.connections;
    for (let i = 0; i < 20; i++) {
      expect(servedBy(await outbound("details:9080", `/d/${i}`))).toBe("details");
      expect(servedBy(await outbound("reviews:9080", `/r/${i}`))).toBe("reviews-v1");
    }
    expect(details.connections - detailsBefore).toBeLessThan(5);
    expect(reviewsV1.app.connections - appBefore).toBeLessThan(5);
  });

  it("resends a bodiless request once when the pooled connection it got was closed by the server", async () => {
    for (let i = 0; i < 5; i++)
      expect(servedBy(await outbound("stale:9080", `/s/${i}`))).toBe("stale-after-one");
    // A request with a body may have reached the app: it is not resent.
    const post = await outbound("stale:9080", "/s", { method: "POST", body: Buffer.from("x") });
    expect(post.status).toBe(503);
    expect(post.headers[RESPONSE_FLAGS_HEADER]).toBe("UC");
  });

  it("streams request and response bodies through both sidecars unchanged", async () => {
    const body = randomBytes(3 * 1024 * 1024);
    const sent = createHash("sha256").update(body).digest("hex");
    const received = await new Promise<string>((resolve, reject) => {
      const req = request(
        {
          host: "127.0.0.1",
          port: client.outboundPort,
          method: "POST",
          path: "/echo",
          headers: { host: "reviews:9080" },
        },
        (res) => {
          const hash = createHash("sha256");
          res.on("data", (chunk: Buffer) => hash.update(chunk));
          res.on("end", () => resolve(hash.digest("hex")));
          res.on("error", reject);
        },
      );
      req.on("error", reject);
      // Chunked (no content-length), in pieces: the sidecars must stream, not expect a length.
      for (let offset = 0; offset < body.length; offset += 256 * 1024)
        req.write(body.subarray(offset, offset + 256 * 1024));
      req.end();
    });
    expect(received).toBe(sent);
  });

  it("drains in-flight requests on stop()", async () => {
    const sleep = await startTestApp("sleep-2");
    stops.push(() => sleep.stop());
    const sidecar = await startSidecar({
      nc: mesh.nc,
      verifier: mesh.verifier,
      proxy: { id: "sidecar~drain~default", role: "sidecar", namespace: "default", labels: { app: "drain" } },
      appPort: sleep.port,
      log: silentLogger,
    });
    const pending = call(sidecar.outboundPort, "details:9080", "/d?delay=300");
    await new Promise((resolve) => setTimeout(resolve, 80));
    await sidecar.stop();
    expect(servedBy(await pending)).toBe("details");
    await expect(call(sidecar.outboundPort, "details:9080", "/")).rejects.toThrow(/ECONNREFUSED/);
  });
});

describe("sidecar status", () => {
  it("serves /ready, /stats and /config_dump on the optional admin port", async () => {
    const app = await startTestApp("admin-app");
    stops.push(() => app.stop());
    const sidecar = await startSidecar({
      nc: mesh.nc,
      verifier: mesh.verifier,
      proxy: { id: "sidecar~admin~default", role: "sidecar", namespace: "default", labels: { app: "admin" } },
      appPort: app.port,
      adminPort: 0,
      log: silentLogger,
    });
    stops.push(() => sidecar.stop());
    const admin = `http://127.0.0.1:${sidecar.adminPort}`;
    expect(await (await fetch(`${admin}/ready`)).json()).toEqual({ ready: true });
    expect((await fetch(`${admin}/healthz/ready`)).status).toBe(200);
    const stats = (await (await fetch(`${admin}/stats`)).json()) as { proxy: string; revision: number };
    expect(stats.proxy).toBe("sidecar~admin~default");
    expect(stats.revision).toBe(client.snapshot().revision);
    const dump = (await (await fetch(`${admin}/config_dump`)).json()) as { version: string };
    expect(dump.version).toBe(sidecar.snapshot().version);
    expect((await fetch(`${admin}/nope`)).status).toBe(404);
  });
});

describe("sidecar error responses carry a response flag", () => {
  it("404 NR when no route of the host matches the request", async () => {
    // A host the registry knows (here through a VirtualService) never falls through to ALLOW_ANY.
    await applyEverywhere(
      virtualService("orders.example.com", [
        { match: [{ uri: { prefix: "/api" } }], route: [{ destination: { host: "details" } }] },
      ]),
    );
    expect(servedBy(await outbound("orders.example.com", "/api/1"))).toBe("details");
    const answer = await outbound("orders.example.com", "/x");
    expect(answer.status).toBe(404);
    expect(answer.headers[RESPONSE_FLAGS_HEADER]).toBe("NR");
    expect(answer.body).toContain("orders.example.com");
  });

  it("503 UH when the routed service has no endpoint", async () => {
    const answer = await outbound("ratings:9080", "/ratings/0");
    expect(answer.status).toBe(503);
    expect(answer.headers[RESPONSE_FLAGS_HEADER]).toBe("UH");
    expect(answer.headers[ROUTE_HEADER]).toMatch(/ratings/);
  });

  it("503 UF when the endpoint refuses connections, after Istio's default 2 retries (URX)", async () => {
    const answer = await outbound("gone:9080", "/");
    expect(answer.status).toBe(503);
    expect(answer.headers[RESPONSE_FLAGS_HEADER]).toBe("UF,URX");
  });

  it("503 UC when the upstream resets the connection", async () => {
    const answer = await outbound("resetting:9080", "/");
    expect(answer.status).toBe(503);
    expect(answer.headers[RESPONSE_FLAGS_HEADER]).toBe("UC");
  });

  it("504 UT when the route timeout passes first", async () => {
    const started = performance.now();
    const answer = await outbound("details:9080", "/timed?delay=3000");
    expect(answer.status).toBe(504);
    expect(answer.headers[RESPONSE_FLAGS_HEADER]).toBe("UT");
    expect(performance.now() - started).toBeLessThan(2_000);
    expect(servedBy(await outbound("details:9080", "/timed?delay=10"))).toBe("details");
  });

  it("cancels the upstream request when the client goes away (DC)", async () => {
    const cancelledBefore = details.cancelled;
    const dcBefore = client.stats().outbound.byFlag.DC ?? 0;
    const req = request({
      host: "127.0.0.1",
      port: client.outboundPort,
      path: "/d?delay=5000",
      headers: { host: "details:9080" },
      agent: false,
    });
    req.on("error", () => {});
    req.end();
    await new Promise((resolve) => setTimeout(resolve, 100));
    req.destroy();
    await waitFor(() => details.cancelled > cancelledBefore, 2_000, "the upstream request to be cancelled");
    expect(client.stats().outbound.byFlag.DC).toBe(dcBefore + 1);
  });

  it("counts responses by flag in stats()", () => {
    const { outbound: counters, sync } = client.stats();
    expect(counters.byFlag.NR).toBeGreaterThanOrEqual(1);
    expect(counters.byFlag.UH).toBeGreaterThanOrEqual(1);
    expect(counters.byFlag["UF,URX"]).toBeGreaterThanOrEqual(1);
    expect(counters.byFlag.UT).toBeGreaterThanOrEqual(1);
    expect(counters.byFlag["-"]).toBeGreaterThan(50);
    expect(counters.inFlight).toBe(0);
    expect(sync.accepted).toBeGreaterThan(10);
  });
});

function totalRejected(sidecar: Sidecar): number {
  return Object.values(sidecar.stats().sync.rejected).reduce((sum, n) => sum + n, 0);
}
