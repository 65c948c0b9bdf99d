import { env, exports } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { type TestPolicy, withTestPolicy } from "./test-policy.ts";

/**
 * VirtualService actions at the edge inside real workerd (same engine helpers as the sidecar):
 * redirects, direct responses, faults, retries, rewrites, headers, CORS and mirrors, against the
 * echo upstreams of test/support/global-echo.ts. Each test has its own namespace and host.
 */

interface TestEnv {
  JIBE_NATS_WS_URL: string;
  JIBE_TEST_SIGNING_JWK: string;
  JIBE_TEST_ECHO_PORT_A: string;
  JIBE_TEST_ECHO_PORT_B: string;
  JIBE_TEST_CLOSED_PORT: string;
}
const testEnv = env as unknown as TestEnv;
const ports = {
  a: Number(testEnv.JIBE_TEST_ECHO_PORT_A),
  b: Number(testEnv.JIBE_TEST_ECHO_PORT_B),
  closed: Number(testEnv.JIBE_TEST_CLOSED_PORT),
};

interface Echo {
  upstream: string;
  url: string;
  headers: Record<string, string | undefined>;
}

const edge = (host: string, path: string, init?: RequestInit): Promise<Response> =>
  exports.default.fetch(`http://${host}${path}`, init);
const flagOf = (r: Response) => r.headers.get("x-jibe-response-flags");

/** Applies Services `echo` (upstream A), `echo-b` (B), `refused` and a VirtualService for `host`. */
async function withRules(http: object[]): Promise<string> {
  const ns = `act-${crypto.randomUUID().slice(0, 8)}`;
  const host = `${ns}.example.test`;
  const svc = (name: string, port: number) => [
    {
      apiVersion: "v1",
      kind: "Service",
      metadata: { name, namespace: ns },
      spec: { selector: { app: name }, ports: [{ name: "http", port: 80 }] },
    },
    {
      apiVersion: "networking.istio.io/v1",
      kind: "WorkloadEntry",
      metadata: { name, namespace: ns },
      spec: { address: "127.0.0.1", ports: { http: port }, labels: { app: name } },
    },
  ];
  await withTestPolicy(testEnv.JIBE_NATS_WS_URL, testEnv.JIBE_TEST_SIGNING_JWK, async (p: TestPolicy) => {
    for (const doc of [...svc("echo", ports.a), ...svc("echo-b", ports.b), ...svc("refused", ports.closed)])
      await p.apply(doc);
    await p.apply({
      apiVersion: "networking.istio.io/v1",
      kind: "VirtualService",
      metadata: { name: "edge", namespace: ns },
      spec: { hosts: [host], gateways: ["default/jibe-edge"], http },
    });
  });
  const deadline = Date.now() + 10_000;
  while ((await edge(host, "/__probe")).status === 404) {
    if (Date.now() > deadline) throw new Error(`policy for ${host} never arrived`);
    await new Promise((r) => setTimeout(r, 50));
  }
  return host;
}

const to = (host: string) => [{ destination: { host, port: { number: 80 } } }];

describe("edge worker: route actions", () => {
  it("answers redirects (Location kept with the query) and direct responses itself", async () => {
    const host = await withRules([
      { match: [{ uri: { prefix: "/old" } }], redirect: { uri: "/new", redirectCode: 308 } },
      { match: [{ uri: { exact: "/teapot" } }], directResponse: { status: 418, body: { string: "short" } } },
      { route: to("echo") },
    ]);
    const moved = await edge(host, "/old/x?q=1", { redirect: "manual" });
    expect([moved.status, moved.headers.get("location")]).toEqual([308, `http://${host}/new?q=1`]);
    const teapot = await edge(host, "/teapot");
    expect([teapot.status, await teapot.text()]).toEqual([418, "short"]);
  });

  it("injects faults: abort with FI, delay with DI", async () => {
    const host = await withRules([
      {
        match: [{ headers: { "end-user": { exact: "jason" } } }],
        fault: { abort: { httpStatus: 555, percentage: { value: 100 } } },
        route: to("echo"),
      },
      {
        match: [{ uri: { prefix: "/slow" } }],
        fault: { delay: { fixedDelay: "0.2s", percentage: { value: 100 } } },
        route: to("echo"),
      },
      { route: to("echo") },
    ]);
    const aborted = await edge(host, "/", { headers: { "end-user": "jason" } });
    expect([aborted.status, flagOf(aborted)]).toEqual([555, "FI"]);
    const started = Date.now();
    const delayed = await edge(host, "/slow");
    expect(Date.now() - started).toBeGreaterThanOrEqual(190);
    expect([delayed.status, flagOf(delayed)]).toEqual([200, "DI"]);
  });

  it("retries by the route's policy: URX when attempts run out, a single try when disabled", async () => {
    const host = await withRules([
      { match: [{ uri: { prefix: "/no-retry" } }], retries: { attempts: 0 }, route: to("refused") },
      { route: to("refused") },
    ]);
    const exhausted = await edge(host, "/");
    expect([exhausted.status, flagOf(exhausted)]).toEqual([503, "UF,URX"]);
    const once = await edge(host, "/no-retry");
    expect([once.status, flagOf(once)]).toEqual([503, "UF"]);
  });

  it("rewrites the path and applies request and response header policies", async () => {
    const host = await withRules([
      {
        match: [{ uri: { prefix: "/api/" } }],
        rewrite: { uri: "/v2/" },
        headers: {
          request: { set: { "x-env": "prod" }, remove: ["x-debug"] },
          response: { add: { "x-served-by": "edge" } },
        },
        route: to("echo"),
      },
      { route: to("echo") },
    ]);
    const response = await edge(host, "/api/items?id=3", { headers: { "x-debug": "1" } });
    const echo = (await response.json()) as Echo;
    expect(echo.url).toBe("/v2/items?id=3");
    expect(echo.headers["x-env"]).toBe("prod");
    expect(echo.headers["x-debug"]).toBeUndefined();
    expect(response.headers.get("x-served-by")).toBe("edge");
  });

  it("answers CORS preflights for allowed origins and adds ACAO only for them", async () => {
    const host = await withRules([
      {
        corsPolicy: {
          allowOrigins: [{ prefix: "https://app." }],
          allowMethods: ["GET", "POST"],
          maxAge: "10m",
        },
        route: to("echo"),
      },
    ]);
    const preflight = await edge(host, "/x", {
      method: "OPTIONS",
      headers: { origin: "https://app.example", "access-control-request-method": "POST" },
    });
    expect(preflight.status).toBe(200);
    expect(preflight.headers.get("access-control-allow-origin")).toBe("https://app.example");
    expect(preflight.headers.get("access-control-allow-methods")).toBe("GET,POST");
    expect(preflight.headers.get("access-control-max-age")).toBe("600");
    expect(preflight.headers.get("x-echo-upstream")).toBeNull();
    const allowed = await edge(host, "/x", { headers: { origin: "https://app.example" } });
    expect(allowed.headers.get("access-control-allow-origin")).toBe("https://app.example");
    const other = await edge(host, "/x", { headers: { origin: "https://evil.example" } });
    expect([other.status, other.headers.get("access-control-allow-origin")]).toEqual([200, null]);
  });

  it("mirrors to another upstream without changing the response", async () => {
    const host = await withRules([{ route: to("echo"), mirror: { host: "echo-b", port: { number: 80 } } }]);
    const response = await edge(host, "/m", {
      method: "POST",
      body: "copy",
      headers: { "content-length": "4" },
    });
    expect(response.status).toBe(200);
    expect(((await response.json()) as Echo).upstream).toBe("a");
    expect(flagOf(response)).toBeNull();
  });
});
