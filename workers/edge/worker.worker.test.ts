import { abortAllDurableObjects, runDurableObjectAlarm } from "cloudflare:test";
import { env, exports } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import type { HolderStatus } from "./policy-holder.ts";
import { type TestPolicy, withTestPolicy } from "./test-policy.ts";

/**
 * The edge worker inside real workerd, against the shared nats-server of the test run and two echo
 * upstreams (test/support/global-echo.ts). Each test works in its own namespace and host, because
 * the server and the edge's policy holder are shared by every test.
 */

interface TestEnv {
  JIBE_NATS_WS_URL: string;
  JIBE_TEST_SIGNING_JWK: string;
  JIBE_TEST_ECHO_PORT_A: string;
  JIBE_TEST_ECHO_PORT_B: string;
  JIBE_TEST_CLOSED_PORT: string;
  POLICY: { idFromName(name: string): unknown; get(id: unknown): { status(): Promise<HolderStatus> } };
}
const testEnv = env as unknown as TestEnv;
const ports = {
  a: Number(testEnv.JIBE_TEST_ECHO_PORT_A),
  b: Number(testEnv.JIBE_TEST_ECHO_PORT_B),
  closed: Number(testEnv.JIBE_TEST_CLOSED_PORT),
};

interface Echo {
  upstream: string;
  method: string;
  url: string;
  headers: Record<string, string | undefined>;
  body: string;
}

function holder() {
  return testEnv.POLICY.get(testEnv.POLICY.idFromName("policy"));
}

function edge(host: string, path: string, init?: RequestInit): Promise<Response> {
  return exports.default.fetch(`http://${host}${path}`, init);
}

function policy<T>(body: (p: TestPolicy) => Promise<T>): Promise<T> {
  return withTestPolicy(testEnv.JIBE_NATS_WS_URL, testEnv.JIBE_TEST_SIGNING_JWK, body);
}

/** A fresh namespace and edge host for one test. */
function scope() {
  const ns = `edge-${crypto.randomUUID().slice(0, 8)}`;
  return { ns, host: `${ns}.example.test` };
}

/** Polls the edge until `check` passes on a response (policy arrives asynchronously over NATS). */
async function eventually(
  host: string,
  path: string,
  check: (r: Response) => Promise<boolean>,
): Promise<Response> {
  const deadline = Date.now() + 10_000;
  for (;;) {
    const response = await edge(host, path);
    if (await check(response.clone())) return response;
    if (Date.now() > deadline) {
      throw new Error(`edge never answered as expected: ${response.status} ${await response.text()}`);
    }
    await new Promise((r) => setTimeout(r, 50));
  }
}

const servedBy = (upstream: string) => async (r: Response) =>
  r.status === 200 && r.headers.get("x-echo-upstream") === upstream;

function service(ns: string, name: string) {
  return {
    apiVersion: "v1",
    kind: "Service",
    metadata: { name, namespace: ns },
    spec: { selector: { app: name }, ports: [{ name: "http", port: 80 }] },
  };
}

function workloadEntry(ns: string, app: string, port: number) {
  return {
    apiVersion: "networking.istio.io/v1",
    kind: "WorkloadEntry",
    metadata: { name: `${app}-${port}`, namespace: ns },
    spec: { address: "127.0.0.1", ports: { http: port }, labels: { app } },
  };
}

function edgeRoute(ns: string, host: string, destination: string, extra: object = {}) {
  return {
    apiVersion: "networking.istio.io/v1",
    kind: "VirtualService",
    metadata: { name: "edge", namespace: ns },
    spec: {
      hosts: [host],
      gateways: ["default/jibe-edge"],
      http: [{ route: [{ destination: { host: destination, port: { number: 80 } } }], ...extra }],
    },
  };
}

/** Service `echo` backed by upstream A, routed from `host` at the edge. */
async function routeToEcho(p: TestPolicy, ns: string, host: string): Promise<void> {
  await p.apply(service(ns, "echo"));
  await p.apply(workloadEntry(ns, "echo", ports.a));
  await p.apply(edgeRoute(ns, host, "echo"));
}

describe("edge worker", () => {
  it("routes a request to the upstream the signed policy names, forwarding method, headers and body", async () => {
    const { ns, host } = scope();
    await policy((p) => routeToEcho(p, ns, host));
    await eventually(host, "/", servedBy("a"));

    const response = await edge(host, "/orders/7?expand=items", {
      method: "POST",
      headers: { "content-type": "text/plain", "x-custom": "kept", connection: "x-drop", "x-drop": "1" },
      body: "hello edge",
    });
    expect(response.status).toBe(200);
    expect(response.headers.get("x-jibe-route")).toBe(`VirtualService/${ns}/edge#0`);
    const echo = (await response.json()) as Echo;
    expect(echo).toMatchObject({
      upstream: "a",
      method: "POST",
      url: "/orders/7?expand=items",
      body: "hello edge",
    });
    expect(echo.headers["x-custom"]).toBe("kept");
    expect(echo.headers["x-drop"]).toBeUndefined();
    expect(echo.headers["x-forwarded-host"]).toBe(host);
    expect(echo.headers["x-forwarded-proto"]).toBe("http");
    expect(echo.headers["x-request-id"]).toMatch(/^[0-9a-f-]{36}$/);

    const withId = (await (await edge(host, "/", { headers: { "x-request-id": "req-1" } })).json()) as Echo;
    expect(withId.headers["x-request-id"]).toBe("req-1");
  });

  it("follows live policy changes", async () => {
    const { ns, host } = scope();
    await policy((p) => routeToEcho(p, ns, host));
    await eventually(host, "/", servedBy("a"));

    await policy(async (p) => {
      await p.apply(service(ns, "echo-b"));
      await p.apply(workloadEntry(ns, "echo-b", ports.b));
      await p.apply(edgeRoute(ns, host, "echo-b"));
    });
    await eventually(host, "/", servedBy("b"));

    await policy((p) => p.remove({ kind: "VirtualService", namespace: ns, name: "edge" }));
    const gone = await eventually(host, "/", async (r) => r.status === 404);
    expect(gone.headers.get("x-jibe-response-flags")).toBe("NR");
  });

  it("ignores forged and unsigned events and keeps the last good route", async () => {
    const { ns, host } = scope();
    await policy((p) => routeToEcho(p, ns, host));
    await eventually(host, "/", servedBy("a"));
    const before = (await holder().status()).sync!;

    const hijack = edgeRoute(ns, host, "echo-evil");
    const ref = { kind: "VirtualService", namespace: ns, name: "edge" };
    await policy(async (p) => {
      const resource = { ...hijack, metadata: { name: "edge", namespace: ns } };
      await p.publishForged({ type: "resource.applied", ref, revision: 1e9, resource });
      await p.publishUnsigned({ type: "resource.deleted", ref, revision: 1e9 + 1 });
    });
    const deadline = Date.now() + 5_000;
    let after = (await holder().status()).sync!;
    while (
      after.rejected["unknown-key"] <= before.rejected["unknown-key"] ||
      after.rejected.unsigned <= before.rejected.unsigned
    ) {
      expect(Date.now()).toBeLessThan(deadline);
      await new Promise((r) => setTimeout(r, 50));
      after = (await holder().status()).sync!;
    }
    for (let i = 0; i < 5; i++) expect(await servedBy("a")(await edge(host, "/"))).toBe(true);
  });

  it("answers with response flags when it cannot route: NR, UH, UF (after retries: URX), UT", async () => {
    const { ns, host } = scope();
    const noRoute = await edge(`nothing-${ns}.example.test`, "/");
    expect(noRoute.status).toBe(404);
    expect(noRoute.headers.get("x-jibe-response-flags")).toBe("NR");

    const hosts = { empty: `empty.${host}`, refused: `refused.${host}`, slow: `slow.${host}` };
    await policy(async (p) => {
      await p.apply(service(ns, "empty"));
      await p.apply(service(ns, "refused"));
      await p.apply(workloadEntry(ns, "refused", ports.closed));
      await p.apply(service(ns, "echo"));
      await p.apply(workloadEntry(ns, "echo", ports.a));
      await p.apply({ ...edgeRoute(ns, hosts.empty, "empty"), metadata: { name: "empty", namespace: ns } });
      await p.apply({
        ...edgeRoute(ns, hosts.refused, "refused"),
        metadata: { name: "refused", namespace: ns },
      });
      await p.apply({
        ...edgeRoute(ns, hosts.slow, "echo", { timeout: "0.2s" }),
        metadata: { name: "slow", namespace: ns },
      });
    });

    const flagOf = (r: Response) => r.headers.get("x-jibe-response-flags");
    const uh = await eventually(hosts.empty, "/", async (r) => r.status === 503);
    expect(flagOf(uh)).toBe("UH");
    expect(uh.headers.get("x-jibe-route")).toBe(`VirtualService/${ns}/empty#0`);
    const uf = await eventually(hosts.refused, "/", async (r) => r.status !== 404);
    // Refused, then retried twice (Istio's default retry policy) before giving up.
    expect([uf.status, flagOf(uf)]).toEqual([503, "UF,URX"]);
    const ut = await eventually(hosts.slow, "/slow?ms=3000", async (r) => r.status !== 404);
    expect([ut.status, flagOf(ut)]).toEqual([504, "UT"]);
    expect(await servedBy("a")(await edge(hosts.slow, "/slow?ms=10"))).toBe(true);
  });

  it("serves status and health, and keeps one subscription across many requests", async () => {
    const { ns, host } = scope();
    await policy((p) => routeToEcho(p, ns, host));
    await eventually(host, "/", servedBy("a"));
    const first = (await (await edge(host, "/__jibe/status")).json()) as {
      proxy: string;
      version: string;
      revision: number;
      connected: boolean;
      sync: { accepted: number };
      holder: HolderStatus;
    };
    expect(first).toMatchObject({ proxy: "edge~local", connected: true });
    expect(first.revision).toBeGreaterThan(0);
    expect(first.version).toBe(first.holder.snapshot?.version);
    expect(first.sync.accepted).toBeGreaterThan(0);
    expect(first.holder.nextAlarm).toBeGreaterThan(Date.now() - 1_000);
    expect((await edge(host, "/__jibe/healthz")).status).toBe(200);

    for (let i = 0; i < 50; i++) expect(await servedBy("a")(await edge(host, `/req/${i}`))).toBe(true);
    await policy(async (p) => {
      await p.apply(service(ns, "echo-b"));
      await p.apply(workloadEntry(ns, "echo-b", ports.b));
      await p.apply(edgeRoute(ns, host, "echo-b"));
    });
    await eventually(host, "/", servedBy("b"));
    const later = await holder().status();
    expect(later.instanceId).toBe(first.holder.instanceId);
    expect(later.connects).toBe(first.holder.connects);
    expect(later.snapshot!.revision).toBeGreaterThan(first.revision);
  });

  it("recovers when workerd recreates the holder: its keep-alive alarm reconnects and routing goes on", async () => {
    const { ns, host } = scope();
    await policy((p) => routeToEcho(p, ns, host));
    await eventually(host, "/", servedBy("a"));
    const before = await holder().status();
    await abortAllDurableObjects();
    expect(await runDurableObjectAlarm(holder())).toBe(true);
    const after = await holder().status();
    expect(after.instanceId).not.toBe(before.instanceId);
    expect(after.connected).toBe(true);
    expect(await servedBy("a")(await edge(host, "/"))).toBe(true);

    await policy(async (p) => {
      await p.apply(service(ns, "echo-b"));
      await p.apply(workloadEntry(ns, "echo-b", ports.b));
      await p.apply(edgeRoute(ns, host, "echo-b"));
    });
    await eventually(host, "/", servedBy("b"));
  });
});
