import { env, exports } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { type TestPolicy, withTestPolicy } from "./test-policy.ts";

/**
 * The edge worker as Istio's ingress gateway inside real workerd: an Istio Gateway selecting it by
 * its default labels (`istio: ingressgateway`) with a VirtualService bound to it, `httpsRedirect`,
 * and a Kubernetes Ingress of class `jibe`, against the echo upstreams of test/support/global-echo.ts.
 */

interface TestEnv {
  JIBE_NATS_WS_URL: string;
  JIBE_TEST_SIGNING_JWK: string;
  JIBE_TEST_ECHO_PORT_A: string;
  JIBE_TEST_ECHO_PORT_B: string;
}
const testEnv = env as unknown as TestEnv;

const edge = (url: string, init?: RequestInit): Promise<Response> => exports.default.fetch(url, init);
const upstreamOf = async (r: Response) => ((await r.json()) as { upstream: string }).upstream;

/** Services `echo` (upstream A) and `echo-b` (B) on port 80 in `ns`. */
function services(ns: string): object[] {
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
  return [
    ...svc("echo", Number(testEnv.JIBE_TEST_ECHO_PORT_A)),
    ...svc("echo-b", Number(testEnv.JIBE_TEST_ECHO_PORT_B)),
  ];
}

async function applyAll(docs: object[]): Promise<void> {
  await withTestPolicy(testEnv.JIBE_NATS_WS_URL, testEnv.JIBE_TEST_SIGNING_JWK, async (p: TestPolicy) => {
    for (const doc of docs) await p.apply(doc);
  });
}

async function until(url: string, ready: (r: Response) => boolean): Promise<Response> {
  const deadline = Date.now() + 10_000;
  for (;;) {
    const r = await edge(url, { redirect: "manual" });
    if (ready(r)) return r;
    if (Date.now() > deadline) throw new Error(`policy for ${url} never arrived (last ${r.status})`);
    await new Promise((done) => setTimeout(done, 50));
  }
}

describe("edge worker: Istio Gateway and Kubernetes Ingress", () => {
  it("serves a VirtualService bound to a Gateway that selects the edge, for the server's hosts only", async () => {
    const ns = `gw-${crypto.randomUUID().slice(0, 8)}`;
    const host = `${ns}.example.test`;
    const secure = `secure.${ns}.example.test`;
    await applyAll([
      ...services(ns),
      {
        apiVersion: "networking.istio.io/v1",
        kind: "Gateway",
        metadata: { name: "public", namespace: ns },
        spec: {
          selector: { istio: "ingressgateway" },
          servers: [
            { port: { number: 80, name: "http", protocol: "HTTP" }, hosts: [host] },
            {
              port: { number: 8080, name: "redirect", protocol: "HTTP" },
              hosts: [secure],
              tls: { httpsRedirect: true },
            },
          ],
        },
      },
      {
        apiVersion: "networking.istio.io/v1",
        kind: "VirtualService",
        metadata: { name: "site", namespace: ns },
        spec: {
          hosts: ["*"],
          gateways: ["public"],
          http: [{ route: [{ destination: { host: "echo", port: { number: 80 } } }] }],
        },
      },
    ]);
    const served = await until(`http://${host}/productpage`, (r) => r.status !== 404);
    expect([served.status, await upstreamOf(served)]).toEqual([200, "a"]);
    const moved = await until(`http://${secure}/x?y=1`, (r) => r.status !== 404);
    expect([moved.status, moved.headers.get("location")]).toEqual([301, `https://${secure}/x?y=1`]);
    const viaTls = await edge(`https://${secure}/x`);
    expect(await upstreamOf(viaTls)).toBe("a");
    const other = await edge(`http://other.${ns}.example.test/`);
    expect([other.status, other.headers.get("x-jibe-response-flags")]).toEqual([404, "NR"]);
  });

  it("serves a jibe-class Ingress: Prefix by path element, Exact, and the longest path first", async () => {
    const ns = `ing-${crypto.randomUUID().slice(0, 8)}`;
    const host = `${ns}.example.test`;
    const backend = (name: string) => ({ service: { name, port: { number: 80 } } });
    await applyAll([
      ...services(ns),
      {
        apiVersion: "networking.k8s.io/v1",
        kind: "Ingress",
        metadata: { name: "web", namespace: ns },
        spec: {
          ingressClassName: "jibe",
          rules: [
            {
              host,
              http: {
                paths: [
                  { path: "/", pathType: "Prefix", backend: backend("echo") },
                  { path: "/api", pathType: "Prefix", backend: backend("echo-b") },
                  { path: "/api/health", pathType: "Exact", backend: backend("echo") },
                ],
              },
            },
          ],
        },
      },
    ]);
    await until(`http://${host}/`, (r) => r.status === 200);
    const at = async (path: string) => upstreamOf(await edge(`http://${host}${path}`));
    expect(await at("/api/v1/items")).toBe("b");
    expect(await at("/api")).toBe("b");
    expect(await at("/apix")).toBe("a");
    expect(await at("/api/health")).toBe("a");
  });
});
