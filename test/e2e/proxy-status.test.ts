import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { NatsConnection } from "@nats-io/nats-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createVerifier, type Verifier } from "../../broker/envelope.ts";
import { silentLogger } from "../../broker/logger.ts";
import { connectNats } from "../../broker/nats-connection.ts";
import type { NatsServerHandle } from "../../broker/nats-launcher.ts";
import { serveProxyReport } from "../../broker/proxy-report.ts";
import type { ProxyStatus, ProxyStatusDetail } from "../../control/admin/proxy-status.ts";
import { runCli } from "../../control/cli/run-cli.ts";
import { type RunningControlPlane, startControlPlane } from "../../control/plane/start.ts";
import { type Gateway, startGateway } from "../../workers/gateway/gateway.ts";
import { type Sidecar, startSidecar } from "../../workers/sidecar/sidecar.ts";
import {
  service,
  startTestApp,
  type TestApp,
  virtualService,
  waitFor,
  workloadEntry,
} from "../../workers/sidecar/test-mesh.ts";
import { startTestNats } from "../support/nats.ts";

/**
 * "Does every proxy run the latest config?": a real nats-server, the control plane, real sidecars
 * and a real ingress gateway following its policy. `GET /api/v1/proxy-status` compares the snapshot
 * hash each proxy reports with the one the control plane compiles for it; `jibe proxy-status` prints it.
 * The `cart` sidecar's verifier stops accepting signed values on demand (as when its trust bundle
 * misses the signing key), so it falls behind for real.
 */

let nats: NatsServerHandle;
let nc: NatsConnection;
let home: string;
let plane: RunningControlPlane;
let app: TestApp;
let shop: Sidecar;
let cart: Sidecar;
let idle: Sidecar;
let gateway: Gateway;
let stopOldProxy: () => void;
let cartFrozen = false;

const SHOP = "sidecar~shop-v1~default";
const CART = "sidecar~cart-v1~default";
const IDLE = "sidecar~idle-v1~default";
const GATEWAY = "gateway~ingress~istio-system";
const OLD = "sidecar~legacy-v1~default";

function gatedVerifier(real: Verifier, closed: () => boolean): Verifier {
  return {
    verify: async (jws) =>
      closed()
        ? { ok: false, reason: "unknown-key", detail: "key not trusted by this proxy" }
        : real.verify(jws),
  };
}

async function admin<T>(path: string, init: RequestInit = {}): Promise<{ status: number; body: T }> {
  const response = await fetch(`${plane.adminUrl}/api/v1${path}`, {
    ...init,
    headers: { authorization: `Bearer ${plane.token}`, "content-type": "application/json" },
  });
  return { status: response.status, body: (await response.json()) as T };
}

async function statuses(): Promise<Map<string, ProxyStatus>> {
  const { status, body } = await admin<{ items: ProxyStatus[] }>("/proxy-status");
  expect(status).toBe(200);
  return new Map(body.items.map((row) => [row.proxy, row]));
}

async function apply(documents: object[]): Promise<number> {
  const { status, body } = await admin<{ results: { revision: number }[] }>("/apply", {
    method: "POST",
    body: JSON.stringify(documents),
  });
  expect(status).toBe(200);
  return Math.max(...body.results.map((r) => r.revision));
}

function cli() {
  let out = "";
  const io = {
    env: {},
    stdout: { write: (text: string) => (out += text) },
    stderr: { write: (text: string) => (out += text) },
    readStdin: async () => "",
  };
  const run = async (...args: string[]) => {
    out = "";
    const code = await runCli(["--admin-url", plane.adminUrl, "--token", plane.token, ...args], io);
    return { code, out };
  };
  return run;
}

beforeAll(async () => {
  nats = await startTestNats();
  nc = await connectNats(nats.url);
  home = await mkdtemp(join(tmpdir(), "jibe-proxy-status-"));
  plane = await startControlPlane({ nc, home, admin: { port: 0 } });
  const verifier = await createVerifier(plane.trustJwks);
  app = await startTestApp("shop-v1");
  const sidecar = (id: string, app: string, v: Verifier) =>
    startSidecar({
      nc,
      verifier: v,
      proxy: { id, role: "sidecar", namespace: "default", labels: { app } },
      appPort: 1,
      log: silentLogger,
    });
  shop = await startSidecar({
    nc,
    verifier,
    proxy: { id: SHOP, role: "sidecar", namespace: "default", labels: { app: "shop" } },
    appPort: app.port,
    log: silentLogger,
  });
  const revision = await apply([
    service("shop"),
    workloadEntry("shop-v1", { app: "shop" }, shop.inboundPort),
  ]);
  cart = await sidecar(
    CART,
    "cart",
    gatedVerifier(verifier, () => cartFrozen),
  );
  idle = await sidecar(
    IDLE,
    "idle",
    gatedVerifier(verifier, () => true),
  );
  gateway = await startGateway({
    nc,
    verifier,
    proxy: { id: GATEWAY, role: "gateway", namespace: "istio-system", labels: { istio: "ingressgateway" } },
    host: "127.0.0.1",
    log: silentLogger,
  });
  // A proxy of an older Jibe: its report has neither `kind` nor `config`.
  stopOldProxy = serveProxyReport(nc, () => ({
    v: 1,
    proxy: OLD,
    namespace: "default",
    labels: { app: "legacy" },
    at: Date.now(),
    inboundAddress: "127.0.0.1:1",
    peerAuthentication: { mode: "PERMISSIVE", defaultMode: "PERMISSIVE", ports: {} },
    inbound: { mtls: 0, plaintext: 0, principals: {} },
    outbound: [],
  }));
  await waitFor(
    () =>
      [shop, cart].every((s) => s.snapshot().revision >= revision) && gateway.snapshot().revision >= revision,
    5_000,
    "proxies at the applied revision",
  );
}, 30_000);

afterAll(async () => {
  stopOldProxy?.();
  await gateway?.stop();
  await Promise.all([shop, cart, idle].map((s) => s?.stop()));
  await app?.stop();
  await plane?.stop();
  await nc?.drain().catch(() => nc.close());
  await nats?.stop();
  if (home) await rm(home, { recursive: true, force: true });
});

describe("proxy-status: applied config against the latest the control plane compiles", () => {
  it("lists sidecars and gateways SYNCED, a proxy that applied nothing NOT SENT, an old proxy UNKNOWN", async () => {
    const rows = await statuses();
    expect(rows.get(SHOP)).toMatchObject({ kind: "sidecar", namespace: "default", status: "SYNCED" });
    expect(rows.get(CART)?.status).toBe("SYNCED");
    expect(rows.get(GATEWAY)).toMatchObject({ kind: "gateway", namespace: "istio-system", status: "SYNCED" });
    expect(rows.get(SHOP)?.applied?.version).toBe(shop.snapshot().version);
    expect(rows.get(GATEWAY)?.applied?.version).toBe(gateway.snapshot().version);
    expect(rows.get(IDLE)).toMatchObject({ status: "NOT SENT" });
    expect(rows.get(OLD)?.status).toBe("UNKNOWN");

    const jibe = cli();
    const { code, out } = await jibe("proxy-status");
    expect(code).toBe(0);
    expect(out).toMatch(/NAME\s+KIND\s+NAMESPACE\s+STATUS\s+APPLIED\s+LATEST\s+LAST REPORT/);
    expect(out).toMatch(/gateway~ingress~istio-system\s+gateway\s+istio-system\s+SYNCED\s+\d+\/\w{8}/);
    expect(out).toMatch(/sidecar~idle-v1~default\s+sidecar\s+default\s+NOT SENT\s+\d+\//);
  });

  it("shows a proxy that stopped accepting updates as STALE and names the resources written since", async () => {
    cartFrozen = true;
    const revision = await apply([
      virtualService("shop", [{ route: [{ destination: { host: "shop" } }], timeout: "3s" }]),
    ]);
    await waitFor(() => shop.snapshot().revision >= revision, 5_000, "shop at the new revision");

    const rows = await statuses();
    expect(rows.get(SHOP)?.status).toBe("SYNCED");
    expect(rows.get(CART)?.status).toBe("STALE");
    expect(rows.get(CART)?.applied?.version).toBe(cart.snapshot().version);
    expect(rows.get(CART)?.expected?.version).not.toBe(cart.snapshot().version);
    expect(rows.get(CART)?.applied?.revision).toBeLessThan(revision);

    const detail = await admin<ProxyStatusDetail>(`/proxy-status/${encodeURIComponent(CART)}`);
    expect(detail.status).toBe(200);
    expect(detail.body.newerResources).toEqual([
      { ref: { kind: "VirtualService", namespace: "default", name: "shop" }, revision },
    ]);
    const { code, out } = await cli()("proxy-status", CART);
    expect(code).toBe(0);
    expect(out).toContain("Status:      STALE");
    expect(out).toContain(`VirtualService/default/shop (revision ${revision})`);

    const unknown = await admin<{ error: { code: string; message: string } }>(
      "/proxy-status/sidecar~nobody~x",
    );
    expect(unknown.status).toBe(404);
    expect(unknown.body.error.message).toContain("jibe proxy-status");
  });

  it("keeps a proxy that stopped answering, as NOT REPORTING with its last report's age", async () => {
    expect((await statuses()).get(IDLE)?.status).toBe("NOT SENT");
    await idle.stop();
    const row = (await statuses()).get(IDLE);
    expect(row?.status).toBe("NOT REPORTING");
    expect(row?.lastReportAgeMs).toBeGreaterThan(0);
    const { out } = await cli()("proxy-status");
    expect(out).toMatch(/sidecar~idle-v1~default\s+sidecar\s+default\s+NOT REPORTING/);
  });
});
