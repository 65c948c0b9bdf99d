import { env, exports } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { type TestPolicy, withTestPolicy } from "./test-policy.ts";

/**
 * DestinationRule traffic policies at the edge inside real workerd (same engine as the sidecar):
 * consistent hashing and outlier detection, against the echo upstreams of
 * test/support/global-echo.ts. Each test has its own namespace and host.
 */

interface TestEnv {
  JIBE_NATS_WS_URL: string;
  JIBE_TEST_SIGNING_JWK: string;
  JIBE_TEST_ECHO_PORT_A: string;
  JIBE_TEST_ECHO_PORT_B: string;
  JIBE_TEST_CLOSED_PORT: string;
}
const testEnv = env as unknown as TestEnv;

const edge = (host: string, path: string, init?: RequestInit): Promise<Response> =>
  exports.default.fetch(`http://${host}${path}`, init);

/** Service `web` over the given upstream ports, a DestinationRule for it, and an edge route. */
async function withBackends(ports: number[], trafficPolicy: object, retries?: object): Promise<string> {
  const ns = `tp-${crypto.randomUUID().slice(0, 8)}`;
  const host = `${ns}.example.test`;
  await withTestPolicy(testEnv.JIBE_NATS_WS_URL, testEnv.JIBE_TEST_SIGNING_JWK, async (p: TestPolicy) => {
    await p.apply({
      apiVersion: "v1",
      kind: "Service",
      metadata: { name: "web", namespace: ns },
      spec: { selector: { app: "web" }, ports: [{ name: "http", port: 80 }] },
    });
    for (const [i, port] of ports.entries())
      await p.apply({
        apiVersion: "networking.istio.io/v1",
        kind: "WorkloadEntry",
        metadata: { name: `web-${i}`, namespace: ns },
        spec: { address: "127.0.0.1", ports: { http: port }, labels: { app: "web" } },
      });
    await p.apply({
      apiVersion: "networking.istio.io/v1",
      kind: "DestinationRule",
      metadata: { name: "web", namespace: ns },
      spec: { host: "web", trafficPolicy },
    });
    await p.apply({
      apiVersion: "networking.istio.io/v1",
      kind: "VirtualService",
      metadata: { name: "edge", namespace: ns },
      spec: {
        hosts: [host],
        gateways: ["default/jibe-edge"],
        http: [
          {
            route: [{ destination: { host: "web", port: { number: 80 } } }],
            ...(retries ? { retries } : {}),
          },
        ],
      },
    });
  });
  const deadline = Date.now() + 10_000;
  while ((await edge(host, "/__probe")).status === 404) {
    if (Date.now() > deadline) throw new Error(`policy for ${host} never arrived`);
    await new Promise((r) => setTimeout(r, 50));
  }
  return host;
}

const upstreamOf = async (r: Response) => ((await r.json()) as { upstream: string }).upstream;

describe("edge worker: DestinationRule traffic policies", () => {
  it("consistentHash: the same header value always reaches the same upstream", async () => {
    const host = await withBackends(
      [Number(testEnv.JIBE_TEST_ECHO_PORT_A), Number(testEnv.JIBE_TEST_ECHO_PORT_B)],
      {
        loadBalancer: { consistentHash: { httpHeaderName: "x-user" } },
      },
    );
    const seen = new Set<string>();
    // 24 keys: with two endpoints owning half the ring each, all on one side has odds 2^-23.
    for (let u = 0; u < 24; u++) {
      const per = new Set<string>();
      for (let i = 0; i < 4; i++)
        per.add(await upstreamOf(await edge(host, "/", { headers: { "x-user": `u${u}` } })));
      expect(per.size).toBe(1);
      for (const p of per) seen.add(p);
    }
    expect(seen).toEqual(new Set(["a", "b"]));
  });

  it("outlierDetection: an endpoint refusing connections is ejected and traffic moves to the healthy one", async () => {
    const host = await withBackends(
      [Number(testEnv.JIBE_TEST_CLOSED_PORT), Number(testEnv.JIBE_TEST_ECHO_PORT_A)],
      {
        loadBalancer: { simple: "ROUND_ROBIN" },
        outlierDetection: { consecutive5xxErrors: 1, baseEjectionTime: "30s", maxEjectionPercent: 100 },
      },
      { attempts: 0 },
    );
    const statuses: number[] = [];
    for (let i = 0; i < 8; i++) statuses.push((await edge(host, "/")).status);
    // Without ejection every other request would fail (round robin, no retries); the first
    // failure (possibly the readiness probe's) ejects the refusing endpoint for 30 s.
    expect(statuses.filter((s) => s === 503).length).toBeLessThanOrEqual(1);
    expect(statuses.slice(2)).toEqual(Array(6).fill(200));
  });
});
