import { readdirSync, readFileSync } from "node:fs";
import { mkdtemp, rm } from "node:fs/promises";
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createSigner, generateSigningKey, type Signer } from "../../broker/envelope.ts";
import type { NatsServerHandle } from "../../broker/nats-launcher.ts";
import { applySigned, loopbackService } from "../../test/support/apply-signed.ts";
import { startTestNats } from "../../test/support/nats.ts";
import { type EdgeWorkerHandle, startEdgeWorker } from "./dev-server.ts";

/**
 * The edge worker as `npm start` runs it: wrangler's workerd, started from Node, following a real
 * nats-server over WebSocket. Own server per file, because one test restarts it.
 */

let storeDir: string;
let nats: NatsServerHandle;
let signer: Signer;
let edge: EdgeWorkerHandle;
let workerdPids: number[];
const upstreams: Server[] = [];

async function startUpstream(name: string): Promise<number> {
  const server = createServer((req, res) => {
    res.writeHead(200, { "content-type": "text/plain", "x-upstream": name });
    res.end(`${name} ${req.method} ${req.url}`);
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  upstreams.push(server);
  return (server.address() as AddressInfo).port;
}

const apply = (...docs: object[]) => applySigned(nats.url, signer, ...docs);

const backend = loopbackService;

function edgeRoute(destination: string): object {
  return {
    apiVersion: "networking.istio.io/v1",
    kind: "VirtualService",
    metadata: { name: "edge", namespace: "default" },
    spec: {
      hosts: ["*"],
      gateways: ["jibe-edge"],
      http: [{ route: [{ destination: { host: destination, port: { number: 80 } } }] }],
    },
  };
}

async function waitForUpstream(name: string, timeoutMs = 15_000): Promise<number> {
  const started = Date.now();
  for (;;) {
    const response = await fetch(`${edge.url}/hello`).catch(() => undefined);
    if (response?.headers.get("x-upstream") === name) return Date.now() - started;
    if (Date.now() - started > timeoutMs) {
      throw new Error(`edge never routed to ${name}: ${response?.status} ${await response?.text()}`);
    }
    await new Promise((r) => setTimeout(r, 50));
  }
}

/** Child workerd processes of this process (miniflare spawns them). */
function childWorkerds(): number[] {
  const pids: number[] = [];
  for (const entry of readdirSync("/proc")) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const stat = readFileSync(`/proc/${entry}/stat`, "utf8");
      const [, comm = "", rest = ""] = /^\d+ \((.*)\) (.*)$/s.exec(stat) ?? [];
      const ppid = Number(rest.split(" ")[1]);
      if (comm === "workerd" && ppid === process.pid) pids.push(Number(entry));
    } catch {
      // the process exited while we looked
    }
  }
  return pids;
}

beforeAll(async () => {
  storeDir = await mkdtemp(join(tmpdir(), "jibe-edge-nats-"));
  nats = await startTestNats({ storeDir });
  const key = await generateSigningKey();
  signer = await createSigner(key.privateJwk);
  edge = await startEdgeWorker({
    natsWsUrl: nats.wsUrl,
    trustJwks: key.publicJwks,
    port: 0,
    logLevel: "warn",
  });
  workerdPids = childWorkerds();
}, 60_000);

afterAll(async () => {
  await edge?.stop();
  await nats?.stop();
  for (const server of upstreams) server.close();
  await rm(storeDir, { recursive: true, force: true });
});

describe("startEdgeWorker", () => {
  it("serves health once the policy holder has synced, and routes policy applied afterwards", async () => {
    expect((await fetch(`${edge.url}/__jibe/healthz`)).status).toBe(200);
    const unrouted = await fetch(`${edge.url}/hello`);
    expect([unrouted.status, unrouted.headers.get("x-jibe-response-flags")]).toEqual([404, "NR"]);

    await apply(...backend("blue", await startUpstream("blue")), edgeRoute("blue"));
    await waitForUpstream("blue");
    const response = await fetch(`${edge.url}/hello?x=1`);
    expect(await response.text()).toBe("blue GET /hello?x=1");
    expect(response.headers.get("x-jibe-route")).toBe("VirtualService/default/edge#0");
  });

  it("keeps last-known-good routes while NATS is down and catches up after it returns", async () => {
    await waitForUpstream("blue");
    const { port, wsPort } = {
      port: Number(new URL(nats.url).port),
      wsPort: Number(new URL(nats.wsUrl).port),
    };
    await nats.stop();
    for (let i = 0; i < 5; i++)
      expect((await fetch(`${edge.url}/hello`)).headers.get("x-upstream")).toBe("blue");

    nats = await startTestNats({ storeDir, port, wsPort });
    await apply(...backend("green", await startUpstream("green")), edgeRoute("green"));
    await waitForUpstream("green", 20_000);
    const status = (await (await fetch(`${edge.url}/__jibe/status`)).json()) as {
      holder: { connected: boolean; connects: number };
    };
    expect(status.holder.connected).toBe(true);
  }, 40_000);

  it("stop() ends the worker and its workerd processes", async () => {
    expect(workerdPids.length).toBeGreaterThan(0);
    await edge.stop();
    await expect(fetch(`${edge.url}/__jibe/healthz`)).rejects.toThrow();
    const alive = workerdPids.filter((pid) => childWorkerds().includes(pid));
    expect(alive).toEqual([]);
  });
});
