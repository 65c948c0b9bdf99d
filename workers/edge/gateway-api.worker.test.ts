import { env, exports } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { type TestPolicy, withTestPolicy } from "./test-policy.ts";

/**
 * A Gateway API HTTPRoute attached to the edge worker's Gateway (`default/jibe-edge`, the
 * worker's default gateway name) inside real workerd: matching by precedence, a weighted split,
 * rewrites, header filters, a redirect and an invalid backend, against the echo upstreams of
 * test/support/global-echo.ts. Each test has its own namespace and hostname.
 */

interface TestEnv {
  JIBE_NATS_WS_URL: string;
  JIBE_TEST_SIGNING_JWK: string;
  JIBE_TEST_ECHO_PORT_A: string;
  JIBE_TEST_ECHO_PORT_B: string;
}
const testEnv = env as unknown as TestEnv;

interface Echo {
  upstream: string;
  url: string;
  headers: Record<string, string | undefined>;
}

const edge = (host: string, path: string, init?: RequestInit): Promise<Response> =>
  exports.default.fetch(`http://${host}${path}`, init);

/** Applies the edge's Gateway, Services `echo-a`/`echo-b` and an HTTPRoute for a fresh hostname. */
async function withRoute(rules: object[]): Promise<string> {
  const ns = `gwapi-${crypto.randomUUID().slice(0, 8)}`;
  const host = `${ns}.example.test`;
  const svc = (name: string, port: string) => [
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
      spec: { address: "127.0.0.1", ports: { http: Number(port) }, labels: { app: name } },
    },
  ];
  await withTestPolicy(testEnv.JIBE_NATS_WS_URL, testEnv.JIBE_TEST_SIGNING_JWK, async (p: TestPolicy) => {
    await p.apply({
      apiVersion: "gateway.networking.k8s.io/v1",
      kind: "Gateway",
      metadata: { name: "jibe-edge", namespace: "default" },
      spec: {
        gatewayClassName: "jibe",
        listeners: [
          { name: "http", port: 80, protocol: "HTTP", allowedRoutes: { namespaces: { from: "All" } } },
        ],
      },
    });
    for (const doc of [
      ...svc("echo-a", testEnv.JIBE_TEST_ECHO_PORT_A),
      ...svc("echo-b", testEnv.JIBE_TEST_ECHO_PORT_B),
    ])
      await p.apply(doc);
    await p.apply({
      apiVersion: "gateway.networking.k8s.io/v1",
      kind: "HTTPRoute",
      metadata: { name: "edge", namespace: ns },
      spec: {
        parentRefs: [{ name: "jibe-edge", namespace: "default" }],
        hostnames: [host],
        rules: [
          {
            matches: [{ path: { type: "Exact", value: "/__probe" } }],
            backendRefs: [{ name: "echo-a", port: 80 }],
          },
          ...rules,
        ],
      },
    });
  });
  const deadline = Date.now() + 10_000;
  while ((await edge(host, "/__probe")).status !== 200) {
    if (Date.now() > deadline) throw new Error(`policy for ${host} never arrived`);
    await new Promise((r) => setTimeout(r, 50));
  }
  return host;
}

const prefix = (value: string) => [{ path: { type: "PathPrefix", value } }];

describe("edge worker: Gateway API HTTPRoute", () => {
  it("routes by precedence, rewrites, and applies header filters", async () => {
    const host = await withRoute([
      { matches: prefix("/"), backendRefs: [{ name: "echo-a", port: 80 }] },
      {
        matches: prefix("/api"),
        filters: [
          {
            type: "URLRewrite",
            urlRewrite: { path: { type: "ReplacePrefixMatch", replacePrefixMatch: "/v2" } },
          },
          {
            type: "RequestHeaderModifier",
            requestHeaderModifier: { set: [{ name: "X-Env", value: "prod" }], remove: ["X-Debug"] },
          },
          {
            type: "ResponseHeaderModifier",
            responseHeaderModifier: { add: [{ name: "X-Served-By", value: "edge" }] },
          },
        ],
        backendRefs: [{ name: "echo-b", port: 80 }],
      },
    ]);
    const api = await edge(host, "/api/items?id=3", { headers: { "x-debug": "1" } });
    const echo = (await api.json()) as Echo;
    expect([echo.upstream, echo.url, echo.headers["x-env"], echo.headers["x-debug"]]).toEqual([
      "b",
      "/v2/items?id=3",
      "prod",
      undefined,
    ]);
    expect(api.headers.get("x-served-by")).toBe("edge");
    const other = (await (await edge(host, "/apiary")).json()) as Echo;
    expect([other.upstream, other.url]).toEqual(["a", "/apiary"]);
  });

  it("redirects (302 by default), and answers 500 for a backend that does not exist", async () => {
    const host = await withRoute([
      {
        matches: prefix("/old"),
        filters: [
          {
            type: "RequestRedirect",
            requestRedirect: { path: { type: "ReplacePrefixMatch", replacePrefixMatch: "/new" } },
          },
        ],
      },
      { matches: prefix("/missing"), backendRefs: [{ name: "nowhere", port: 80 }] },
    ]);
    const moved = await edge(host, "/old/x?q=1", { redirect: "manual" });
    expect([moved.status, moved.headers.get("location")]).toEqual([302, `http://${host}/new/x?q=1`]);
    expect((await edge(host, "/missing")).status).toBe(500);
  });

  it("splits by weight", async () => {
    const host = await withRoute([
      {
        matches: prefix("/split"),
        backendRefs: [
          { name: "echo-a", port: 80, weight: 1 },
          { name: "echo-b", port: 80, weight: 1 },
        ],
      },
    ]);
    const seen = new Set<string>();
    for (let i = 0; i < 40 && seen.size < 2; i++)
      seen.add(((await (await edge(host, "/split")).json()) as Echo).upstream);
    expect([...seen].sort()).toEqual(["a", "b"]);
  });
});
