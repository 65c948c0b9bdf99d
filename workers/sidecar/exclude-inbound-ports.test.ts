import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { silentLogger } from "../../broker/logger.ts";
import { renderIptablesRules } from "../../control/injector/iptables.ts";
import { readTrafficCapture } from "../../control/injector/traffic-capture.ts";
import type { RotationClient } from "../../identity/rotation-client.ts";
import { TLS_MODE_ISTIO, TLS_MODE_LABEL } from "./mesh-tls.ts";
import { type Sidecar, startSidecar } from "./sidecar.ts";
import { createTestIssuer } from "./test-identity.ts";
import { call, startTestApp, startTestMesh, type TestApp, type TestMesh } from "./test-mesh.ts";

/**
 * `traffic.sidecar.istio.io/excludeInboundPorts`, as Istio's FAQ describes it: the excluded port is
 * not redirected to the proxy (the iptables rules RETURN it), so PeerAuthentication does not apply
 * there; yet auto-mTLS still makes client proxies send mTLS to it, until a DestinationRule sets
 * `tls.mode: DISABLE` for that port. The server pod is simulated by what iptables would do: its
 * captured port (9080) reaches the sidecar's inbound listener, its excluded port (9090) the app.
 */

let mesh: TestMesh;
let client: Sidecar;
let server: Sidecar;
let serverApp: TestApp;
const stops: Array<() => Promise<void> | void> = [];

const EXCLUDED = 9090;

beforeAll(async () => {
  mesh = await startTestMesh();
  const { issue } = await createTestIssuer();
  const start = async (app: string): Promise<{ sidecar: Sidecar; app: TestApp }> => {
    const running = await startTestApp(app);
    stops.push(() => running.stop());
    const identity: RotationClient = issue(app);
    stops.push(() => identity.stop());
    const sidecar = await startSidecar({
      nc: mesh.nc,
      verifier: mesh.verifier,
      proxy: { id: `sidecar~${app}~default`, role: "sidecar", namespace: "default", labels: { app } },
      appPort: running.port,
      identity,
      log: silentLogger,
    });
    stops.push(() => sidecar.stop());
    return { sidecar, app: running };
  };
  client = (await start("client")).sidecar;
  const started = await start("db");
  server = started.sidecar;
  serverApp = started.app;
  await mesh.applyAndWait(
    [client, server],
    {
      apiVersion: "v1",
      kind: "Service",
      metadata: { name: "db", namespace: "default" },
      spec: {
        selector: { app: "db" },
        ports: [
          { name: "http", port: 9080 },
          { name: "http-admin", port: EXCLUDED },
        ],
      },
    },
    {
      apiVersion: "networking.istio.io/v1",
      kind: "WorkloadEntry",
      metadata: { name: "db", namespace: "default" },
      spec: {
        address: "127.0.0.1",
        labels: { app: "db", [TLS_MODE_LABEL]: TLS_MODE_ISTIO },
        // 9080 is captured (→ the sidecar), 9090 excluded (→ straight to the app).
        ports: { http: server.inboundPort, "http-admin": serverApp.port },
      },
    },
    {
      apiVersion: "security.istio.io/v1",
      kind: "PeerAuthentication",
      metadata: { name: "default", namespace: "istio-system" },
      spec: { mtls: { mode: "STRICT" } },
    },
  );
}, 30_000);

afterAll(async () => {
  for (const stop of stops.reverse()) await stop();
  await mesh?.stop();
});

describe("excludeInboundPorts", () => {
  it("is not redirected to the proxy by the injected iptables rules", () => {
    const rules = renderIptablesRules(
      readTrafficCapture({ "traffic.sidecar.istio.io/excludeInboundPorts": String(EXCLUDED) }),
    );
    expect(rules).toContain(`--dport ${EXCLUDED} -j RETURN`);
  });

  it("is outside PeerAuthentication: a plaintext caller reaches the app there, not on the captured port", async () => {
    const direct = await call(serverApp.port, "db", "/excluded");
    expect(direct.status).toBe(200);
    await expect(call(server.inboundPort, "db", "/captured")).rejects.toThrow();
  });

  it("still gets mTLS from client proxies (auto-mTLS), which the plaintext app cannot answer", async () => {
    expect((await call(client.outboundPort, "db:9080", "/via-sidecar")).status).toBe(200);
    const refused = await call(client.outboundPort, `db:${EXCLUDED}`, "/auto-mtls");
    expect(refused.status).toBe(503);
  });

  it("gets plaintext once a DestinationRule sets tls.mode DISABLE for that port", async () => {
    await mesh.applyAndWait([client, server], {
      apiVersion: "networking.istio.io/v1",
      kind: "DestinationRule",
      metadata: { name: "db", namespace: "default" },
      spec: {
        host: "db",
        trafficPolicy: { portLevelSettings: [{ port: { number: EXCLUDED }, tls: { mode: "DISABLE" } }] },
      },
    });
    const before = server.stats().inbound.requests;
    const answer = await call(client.outboundPort, `db:${EXCLUDED}`, "/plaintext");
    expect(answer.status).toBe(200);
    expect(answer.body).toContain('"path":"/plaintext"');
    // The request bypassed the server's sidecar; the captured port still gets mTLS.
    expect(server.stats().inbound.requests).toBe(before);
    expect((await call(client.outboundPort, "db:9080", "/still-mtls")).status).toBe(200);
  });
});

describe("port-level PeerAuthentication", () => {
  it("a workload policy's portLevelMtls for the app port overrides the mesh-wide STRICT", async () => {
    await expect(call(server.inboundPort, "db", "/strict")).rejects.toThrow();
    await mesh.applyAndWait([client, server], {
      apiVersion: "security.istio.io/v1",
      kind: "PeerAuthentication",
      metadata: { name: "db-app-port", namespace: "default" },
      spec: {
        selector: { matchLabels: { app: "db" } },
        mtls: { mode: "STRICT" },
        portLevelMtls: { [serverApp.port]: { mode: "PERMISSIVE" } },
      },
    });
    expect((await call(server.inboundPort, "db", "/plaintext-ok")).status).toBe(200);
    expect((await call(client.outboundPort, "db:9080", "/mtls-ok")).status).toBe(200);
    await mesh.remove("PeerAuthentication", "db-app-port", "default");
  });
});
