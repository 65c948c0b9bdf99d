import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { NatsConnection } from "@nats-io/nats-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createVerifier } from "../../broker/envelope.ts";
import { silentLogger } from "../../broker/logger.ts";
import { connectNats } from "../../broker/nats-connection.ts";
import type { NatsServerHandle } from "../../broker/nats-launcher.ts";
import type { ProxyReport } from "../../broker/proxy-report.ts";
import { runCli } from "../../control/cli/run-cli.ts";
import { type RunningControlPlane, startControlPlane } from "../../control/plane/start.ts";
import { type Sidecar, startSidecar } from "../../workers/sidecar/sidecar.ts";
import {
  call,
  service,
  startTestApp,
  type TestApp,
  waitFor,
  workloadEntry,
} from "../../workers/sidecar/test-mesh.ts";
import { startTestNats } from "../support/nats.ts";

/**
 * "Denials appear in the admin API": a real nats-server, the control plane, and a sidecar whose
 * policy comes from the control plane; the sidecar's per-policy decision counts reach
 * `GET /api/v1/proxies` over the bus and `jibe authz stats` prints them.
 */

let nats: NatsServerHandle;
let nc: NatsConnection;
let home: string;
let plane: RunningControlPlane;
let app: TestApp;
let shop: Sidecar;

function policy(name: string, spec: object, annotations: Record<string, string> = {}): object {
  return {
    apiVersion: "security.istio.io/v1",
    kind: "AuthorizationPolicy",
    metadata: { name, namespace: "default", annotations },
    spec: { selector: { matchLabels: { app: "shop" } }, ...spec },
  };
}

async function proxies(): Promise<ProxyReport[]> {
  const response = await fetch(`${plane.adminUrl}/api/v1/proxies`, {
    headers: { authorization: `Bearer ${plane.token}` },
  });
  expect(response.status).toBe(200);
  return ((await response.json()) as { items: ProxyReport[] }).items;
}

beforeAll(async () => {
  nats = await startTestNats();
  nc = await connectNats(nats.url);
  home = await mkdtemp(join(tmpdir(), "jibe-authz-stats-"));
  plane = await startControlPlane({ nc, home, admin: { port: 0 } });
  app = await startTestApp("shop-v1");
  shop = await startSidecar({
    nc,
    verifier: await createVerifier(plane.trustJwks),
    proxy: { id: "sidecar~shop-v1~default", role: "sidecar", namespace: "default", labels: { app: "shop" } },
    appPort: app.port,
    log: silentLogger,
  });
  const applied = await fetch(`${plane.adminUrl}/api/v1/apply`, {
    method: "POST",
    headers: { authorization: `Bearer ${plane.token}`, "content-type": "application/json" },
    body: JSON.stringify([
      service("shop"),
      workloadEntry("shop-v1", { app: "shop" }, shop.inboundPort),
      policy("deny-admin", { action: "DENY", rules: [{ to: [{ operation: { paths: ["/admin*"] } }] }] }),
      policy("allow-get", { action: "ALLOW", rules: [{ to: [{ operation: { methods: ["GET"] } }] }] }),
      policy(
        "deny-beta",
        { action: "DENY", rules: [{ to: [{ operation: { paths: ["/beta*"] } }] }] },
        { "istio.io/dry-run": "true" },
      ),
    ]),
  });
  expect(applied.status).toBe(200);
  await waitFor(() => shop.snapshot().authz !== undefined, 5_000, "shop authz policy");
}, 30_000);

afterAll(async () => {
  await shop?.stop();
  await app?.stop();
  await plane?.stop();
  await nc?.drain().catch(() => nc.close());
  await nats?.stop();
  if (home) await rm(home, { recursive: true, force: true });
});

describe("authorization counters in the control plane's admin API", () => {
  it("shows each policy's allowed, denied and dry-run decisions per proxy; `jibe authz stats` prints them", async () => {
    const at = (path: string, method = "GET") => call(shop.inboundPort, "shop:9080", path, { method });
    expect((await at("/admin/users")).status).toBe(403);
    expect((await at("/admin/keys")).status).toBe(403);
    expect((await at("/items")).status).toBe(200);
    expect((await at("/items", "POST")).status).toBe(403);
    expect((await at("/beta/new")).status).toBe(200); // the dry-run DENY is reported, not enforced

    const report = (await proxies()).find((r) => r.proxy === "sidecar~shop-v1~default");
    expect(report?.authz).toMatchObject({ allowed: 2, denied: 3, dryRunMismatch: 1 });
    const policies = report?.authz?.policies ?? {};
    expect(policies["AuthorizationPolicy/default/deny-admin"]).toMatchObject({ denied: 2, allowed: 0 });
    expect(policies["AuthorizationPolicy/default/allow-get"]).toMatchObject({ allowed: 2, denied: 0 });
    expect(policies["(no ALLOW policy matched)"]).toMatchObject({ denied: 1 });
    expect(policies["AuthorizationPolicy/default/deny-beta"]).toMatchObject({ shadowDenied: 1, denied: 0 });

    let out = "";
    const io = {
      env: {},
      stdout: { write: (text: string) => (out += text) },
      stderr: { write: (text: string) => (out += text) },
      readStdin: async () => "",
    };
    const jibe = (...args: string[]) =>
      runCli(["--admin-url", plane.adminUrl, "--token", plane.token, ...args], io);
    expect(await jibe("authz", "stats", "shop")).toBe(0);
    // The dry-run pass evaluates every policy, so deny-admin's own denials show as shadow ones too.
    expect(out).toMatch(/PROXY\s+POLICY\s+ALLOWED\s+DENIED\s+DRY-RUN ALLOWED\s+DRY-RUN DENIED\s+AUDITED/);
    expect(out).toMatch(
      /sidecar~shop-v1~default\s+AuthorizationPolicy\/default\/deny-admin\s+0\s+2\s+0\s+2\s+0/,
    );
    expect(out).toMatch(
      /sidecar~shop-v1~default\s+AuthorizationPolicy\/default\/deny-beta\s+0\s+0\s+0\s+1\s+0/,
    );
    out = "";
    expect(await jibe("authz", "stats", "nobody")).not.toBe(0);
    expect(out).toContain("no running proxy matches nobody in namespace default");
  });
});
