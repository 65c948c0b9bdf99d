import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { silentLogger } from "../../broker/logger.ts";
import { rewriteHttpProbes } from "../../control/injector/probe-rewrite.ts";
import type { RotationClient } from "../../identity/rotation-client.ts";
import { parseAppProbers } from "./app-probes.ts";
import { type Sidecar, startSidecar } from "./sidecar.ts";
import { readSidecarEnv } from "./sidecar-env.ts";
import { createTestIssuer } from "./test-identity.ts";
import { startTestApp, startTestMesh, type TestMesh } from "./test-mesh.ts";

/**
 * Kubelet probes under STRICT mTLS: the injector rewrites them to the proxy's plaintext status port
 * (`/app-health/<container>/livez|readyz|startupz`); the sidecar runs the app's original probe itself.
 */

let mesh: TestMesh;
let sidecar: Sidecar;
let identity: RotationClient;
let ready = false;
const stops: Array<() => Promise<void> | void> = [];

async function probe(path: string): Promise<number> {
  const response = await fetch(`http://127.0.0.1:${sidecar.adminPort}${path}`);
  await response.arrayBuffer();
  return response.status;
}

beforeAll(async () => {
  mesh = await startTestMesh();
  const app = await startTestApp("web", (req, res) => {
    if (req.url === "/healthz") res.writeHead(200).end("ok");
    else if (req.url === "/ready") res.writeHead(ready ? 200 : 503).end();
    else if (req.url === "/hang")
      return true; // never answers
    else return false;
    return true;
  });
  stops.push(() => app.stop());
  identity = (await createTestIssuer()).issue("web");
  stops.push(() => identity.stop());
  // What the injector writes into the pod for this container's probes.
  const { probers } = rewriteHttpProbes([
    {
      name: "web",
      livenessProbe: { httpGet: { path: "/healthz", port: app.port } },
      readinessProbe: { httpGet: { path: "/ready", port: app.port } },
      startupProbe: { httpGet: { path: "/hang", port: app.port }, timeoutSeconds: 1 },
    },
  ]);
  sidecar = await startSidecar({
    nc: mesh.nc,
    verifier: mesh.verifier,
    proxy: { id: "sidecar~web~default", role: "sidecar", namespace: "default", labels: { app: "web" } },
    appPort: app.port,
    identity,
    adminPort: 0,
    appProbers: parseAppProbers(JSON.stringify(probers)),
    log: silentLogger,
  });
  stops.push(() => sidecar.stop());
  await mesh.applyAndWait([sidecar], {
    apiVersion: "security.istio.io/v1",
    kind: "PeerAuthentication",
    metadata: { name: "default", namespace: "istio-system" },
    spec: { mtls: { mode: "STRICT" } },
  });
}, 30_000);

afterAll(async () => {
  for (const stop of stops.reverse()) await stop();
  await mesh?.stop();
});

describe("rewritten kubelet probes under STRICT", () => {
  it("a plaintext probe to the inbound listener fails, the rewritten one on the status port reaches the app", async () => {
    expect(sidecar.snapshot().inboundTls?.defaultMode).toBe("STRICT");
    await expect(fetch(`http://127.0.0.1:${sidecar.inboundPort}/healthz`)).rejects.toThrow();
    expect(await probe("/app-health/web/livez")).toBe(200);
  });

  it("relays the app's readiness as it changes", async () => {
    ready = false;
    expect(await probe("/app-health/web/readyz")).toBe(503);
    ready = true;
    expect(await probe("/app-health/web/readyz")).toBe(200);
  });

  it("fails a probe the app does not answer within timeoutSeconds, and 404s paths of no probe", async () => {
    expect(await probe("/app-health/web/startupz")).toBe(500);
    expect(await probe("/app-health/other/livez")).toBe(404);
  });

  it("reads the probes from JIBE_KUBE_APP_PROBERS or Istio's ISTIO_KUBE_APP_PROBERS, refusing malformed ones", () => {
    const json = JSON.stringify({ "/app-health/web/livez": { httpGet: { path: "/healthz", port: 8080 } } });
    expect(
      readSidecarEnv({ JIBE_APP_PORT: "8080", ISTIO_KUBE_APP_PROBERS: json }, "/tmp").appProbers,
    ).toEqual(JSON.parse(json));
    expect(() => readSidecarEnv({ JIBE_APP_PORT: "8080", JIBE_KUBE_APP_PROBERS: "{" }, "/tmp")).toThrow(
      /JIBE_KUBE_APP_PROBERS is not JSON/,
    );
    expect(() => parseAppProbers(JSON.stringify({ "/healthz": { httpGet: { port: 1 } } }))).toThrow(
      /must start with \/app-health\//,
    );
  });
});
