import { env, exports } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { decodePeerHeader, PEER_HEADER } from "../telemetry/index.ts";
import type { HolderStatus } from "./policy-holder.ts";
import { withTestPolicy } from "./test-policy.ts";

/**
 * The edge's trace headers and metric push inside real workerd, against the shared nats-server and
 * echo upstream of the test run (the full trace and the control plane's aggregate are checked in
 * test/e2e/telemetry.test.ts).
 */

interface TestEnv {
  JIBE_NATS_WS_URL: string;
  JIBE_TEST_SIGNING_JWK: string;
  JIBE_TEST_ECHO_PORT_A: string;
  POLICY: { idFromName(name: string): unknown; get(id: unknown): { status(): Promise<HolderStatus> } };
}
const testEnv = env as unknown as TestEnv;

interface Echo {
  headers: Record<string, string | undefined>;
}

const edge = (host: string, init?: RequestInit) => exports.default.fetch(`http://${host}/`, init);

async function routedHost(): Promise<string> {
  const ns = `tele-${crypto.randomUUID().slice(0, 8)}`;
  const host = `${ns}.example.test`;
  await withTestPolicy(testEnv.JIBE_NATS_WS_URL, testEnv.JIBE_TEST_SIGNING_JWK, async (p) => {
    await p.apply({
      apiVersion: "v1",
      kind: "Service",
      metadata: { name: "echo", namespace: ns },
      spec: { selector: { app: "echo" }, ports: [{ name: "http", port: 80 }] },
    });
    await p.apply({
      apiVersion: "networking.istio.io/v1",
      kind: "WorkloadEntry",
      metadata: { name: "echo", namespace: ns },
      spec: {
        address: "127.0.0.1",
        ports: { http: Number(testEnv.JIBE_TEST_ECHO_PORT_A) },
        labels: { app: "echo" },
      },
    });
    await p.apply({
      apiVersion: "networking.istio.io/v1",
      kind: "VirtualService",
      metadata: { name: "edge", namespace: ns },
      spec: {
        hosts: [host],
        gateways: ["default/jibe-edge"],
        http: [{ route: [{ destination: { host: "echo", port: { number: 80 } } }] }],
      },
    });
  });
  const deadline = Date.now() + 10_000;
  while ((await edge(host).then((r) => r.arrayBuffer().then(() => r.status))) !== 200) {
    if (Date.now() > deadline) throw new Error(`no route for ${host}`);
    await new Promise((r) => setTimeout(r, 50));
  }
  return host;
}

async function holderStatus(): Promise<HolderStatus> {
  return testEnv.POLICY.get(testEnv.POLICY.idFromName("policy")).status();
}

describe("edge telemetry in workerd", () => {
  it("starts the trace at the edge: request id, W3C and B3 headers and its peer metadata upstream, none back", async () => {
    const host = await routedHost();
    const response = await edge(host);
    expect(response.headers.get(PEER_HEADER)).toBeNull();
    const { headers } = (await response.json()) as Echo;
    const [version, traceId, spanId, flags] = String(headers.traceparent).split("-");
    expect(version).toBe("00");
    expect(traceId).toMatch(/^[0-9a-f]{32}$/);
    expect(spanId).toMatch(/^[0-9a-f]{16}$/);
    expect(flags).toMatch(/^0[01]$/);
    const sampled = flags === "01" ? "1" : "0";
    expect(headers).toMatchObject({
      "x-b3-traceid": traceId,
      "x-b3-spanid": spanId,
      "x-b3-sampled": sampled,
    });
    expect(headers.b3).toBe(`${traceId}-${spanId}-${sampled}`);
    expect(headers["x-b3-parentspanid"]).toBeUndefined();
    expect(headers["x-request-id"]).toMatch(/^[0-9a-f-]{36}$/);
    expect(decodePeerHeader(headers[PEER_HEADER])).toMatchObject({ workload: "jibe-edge", app: "jibe-edge" });
  });

  it("continues a caller's trace (B3 single header) with a new span under the caller's", async () => {
    const host = await routedHost();
    const traceId = "463ac35c9f6413ad48485a3953bb6124";
    const response = await edge(host, {
      headers: { b3: `${traceId}-a2fb4a1d1a96d312-1`, "x-request-id": "r-9" },
    });
    const { headers } = (await response.json()) as Echo;
    expect(headers["x-b3-traceid"]).toBe(traceId);
    expect(headers["x-b3-parentspanid"]).toBe("a2fb4a1d1a96d312");
    expect(headers["x-b3-spanid"]).not.toBe("a2fb4a1d1a96d312");
    expect(headers.traceparent).toBe(`00-${traceId}-${headers["x-b3-spanid"]}-01`);
    expect(headers["x-request-id"]).toBe("r-9");
  });

  it("pushes its Istio metric deltas over NATS from the policy holder", async () => {
    const host = await routedHost();
    const before = (await holderStatus()).telemetry?.batches ?? 0;
    await edge(host).then((r) => r.arrayBuffer());
    const deadline = Date.now() + 10_000;
    let status = await holderStatus();
    while ((status.telemetry?.batches ?? 0) <= before && Date.now() < deadline) {
      await new Promise((r) => setTimeout(r, 100));
      status = await holderStatus();
    }
    expect(status.telemetry?.batches).toBeGreaterThan(before);
    expect(status.telemetry?.dropped).toBe(0);
  });
});
