import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { silentLogger } from "../../broker/logger.ts";
import { RESPONSE_FLAGS_HEADER } from "../engine/index.ts";
import { type Sidecar, startSidecar } from "./sidecar.ts";
import {
  call,
  freePort,
  service,
  startTestApp,
  startTestMesh,
  type TestApp,
  type TestMesh,
  waitFor,
  workloadEntry,
} from "./test-mesh.ts";

/**
 * CUSTOM AuthorizationPolicy through a real sidecar, real NATS and a real HTTP ext-authz server on
 * loopback (Istio's sample-ext-authz-http behaviour: `x-ext-authz: allow` passes, anything else gets
 * 403 with a body). The provider is configured the Istio way: ConfigMap istio-system/istio.
 */

let mesh: TestMesh;
let app: TestApp;
let sidecar: Sidecar;
let authorizer: Server;
let authorizerPort: number;
const checks: { method?: string; url?: string; headers: Record<string, unknown> }[] = [];
const accessLog: string[] = [];

const meshConfig = (provider: Record<string, unknown>) => ({
  apiVersion: "v1",
  kind: "ConfigMap",
  metadata: { name: "istio", namespace: "istio-system" },
  data: {
    mesh: JSON.stringify({
      extensionProviders: [
        {
          name: "sample-ext-authz-http",
          envoyExtAuthzHttp: {
            service: "ext-authz.default.svc.cluster.local",
            port: 8000,
            pathPrefix: "/check",
            includeRequestHeadersInCheck: ["x-ext-authz"],
            headersToUpstreamOnAllow: ["x-ext-authz-check-result"],
            headersToDownstreamOnDeny: ["x-ext-authz-check-result"],
            headersToDownstreamOnAllow: ["x-ext-authz-check-*"],
            ...provider,
          },
        },
      ],
    }),
  },
});

const customPolicy = {
  apiVersion: "security.istio.io/v1",
  kind: "AuthorizationPolicy",
  metadata: { name: "ext-authz", namespace: "default" },
  spec: {
    selector: { matchLabels: { app: "httpbin" } },
    action: "CUSTOM",
    provider: { name: "sample-ext-authz-http" },
    rules: [{ to: [{ operation: { paths: ["/headers*"] } }] }],
  },
};

beforeAll(async () => {
  mesh = await startTestMesh();
  app = await startTestApp("httpbin");
  authorizer = createServer((req, res) => {
    checks.push({ method: req.method, url: req.url, headers: req.headers });
    if (req.headers["x-ext-authz"] === "slow") {
      setTimeout(() => res.writeHead(200).end(), 1_000).unref();
      return;
    }
    if (req.headers["x-ext-authz"] === "allow") {
      res.writeHead(200, { "x-ext-authz-check-result": "allowed" }).end();
      return;
    }
    res
      .writeHead(403, {
        "x-ext-authz-check-result": "denied",
        "x-internal": "secret",
        "content-type": "text/plain",
      })
      .end("denied by ext_authz for not found header `x-ext-authz: allow` in the request");
  });
  await new Promise<void>((resolve) => authorizer.listen(0, "127.0.0.1", resolve));
  authorizerPort = (authorizer.address() as AddressInfo).port;
  sidecar = await startSidecar({
    nc: mesh.nc,
    verifier: mesh.verifier,
    proxy: {
      id: "sidecar~httpbin~default",
      role: "sidecar",
      namespace: "default",
      labels: { app: "httpbin" },
    },
    appPort: app.port,
    log: silentLogger,
    telemetry: { mesh: { accessLog: true }, accessLogSink: (line) => accessLog.push(line) },
  });
  await mesh.applyAndWait(
    [sidecar],
    service("ext-authz", 8000),
    workloadEntry("ext-authz", { app: "ext-authz" }, authorizerPort),
    meshConfig({}),
    customPolicy,
  );
});

afterAll(async () => {
  await sidecar?.stop();
  await app?.stop();
  await new Promise((resolve) => authorizer?.close(resolve));
  await mesh?.stop();
});

describe("sidecar: CUSTOM policy with a real HTTP ext-authz server", () => {
  const get = (path: string, headers: Record<string, string> = {}) =>
    call(sidecar.inboundPort, "httpbin:8000", path, { headers });

  it("denies with the authorizer's status, body and allowed headers, flagged UAEX everywhere", async () => {
    const denied = await get("/headers", { "x-ext-authz": "deny" });
    expect(denied.status).toBe(403);
    expect(denied.body).toContain("denied by ext_authz");
    expect(denied.headers["x-ext-authz-check-result"]).toBe("denied");
    expect(denied.headers["x-internal"]).toBeUndefined();
    expect(denied.headers[RESPONSE_FLAGS_HEADER]).toBe("UAEX");
    expect(checks.at(-1)).toMatchObject({ method: "GET", url: "/check/headers" });
    // Access log, istio_requests_total and the admin stats name the denial.
    await waitFor(() => accessLog.some((l) => l.includes('"UAEX"')), 2_000, "access log line with UAEX");
    const line = JSON.parse(accessLog.find((l) => l.includes('"UAEX"')) ?? "{}") as Record<string, unknown>;
    expect(line).toMatchObject({
      response_code: 403,
      response_flags: "UAEX",
      response_code_details: "ext_authz_denied",
    });
    const metrics = await sidecar.metrics();
    expect(metrics).toMatch(/istio_requests_total\{[^}]*response_code="403"[^}]*response_flags="UAEX"/);
    expect(metrics).toContain(
      'jibe_authz_decisions_total{policy="AuthorizationPolicy/default/ext-authz",decision="denied"} 1',
    );
    expect(metrics).toContain('jibe_ext_authz_total{outcome="denied"} 1');
    const stats = sidecar.stats().authz;
    expect(stats.extAuthz.denied).toBe(1);
    expect(stats.policies["AuthorizationPolicy/default/ext-authz"]?.denied).toBe(1);
  });

  it("an RBAC denial after the authorizer allowed names the policy and rule (access log, metrics, stats)", async () => {
    await mesh.applyAndWait([sidecar], {
      apiVersion: "security.istio.io/v1",
      kind: "AuthorizationPolicy",
      metadata: { name: "no-delete", namespace: "default" },
      spec: { action: "DENY", rules: [{ to: [{ operation: { methods: ["DELETE"] } }] }] },
    });
    const denied = await call(sidecar.inboundPort, "httpbin:8000", "/headers/x", {
      method: "DELETE",
      headers: { "x-ext-authz": "allow" },
    });
    expect(denied.status).toBe(403);
    expect(denied.headers[RESPONSE_FLAGS_HEADER]).toBe("RBAC");
    const details = "rbac_access_denied_matched_policy[AuthorizationPolicy/default/no-delete#0]";
    await waitFor(
      () => accessLog.some((l) => l.includes(details)),
      2_000,
      "access log line with RBAC details",
    );
    const metrics = await sidecar.metrics();
    expect(metrics).toMatch(/istio_requests_total\{[^}]*response_code="403"[^}]*response_flags="RBAC"/);
    expect(metrics).toContain(
      'jibe_authz_decisions_total{policy="AuthorizationPolicy/default/no-delete",decision="denied"} 1',
    );
    expect(sidecar.stats().authz.policies["AuthorizationPolicy/default/no-delete"]?.denied).toBe(1);
    await mesh.remove("AuthorizationPolicy", "no-delete");
  });

  it("allows what the authorizer allows, passing its headers upstream; unmatched paths are not sent", async () => {
    const before = checks.length;
    const ok = await get("/headers", { "x-ext-authz": "allow" });
    expect(ok.status).toBe(200);
    expect(app.lastHeaders["x-ext-authz-check-result"]).toBe("allowed");
    expect(ok.headers["x-ext-authz-check-result"]).toBe("allowed");
    expect((await get("/ip")).status).toBe(200);
    expect(checks.length).toBe(before + 1);
  });

  it("authorizer too slow or gone: fails closed (403, then statusOnError), or open with failOpen", async () => {
    await mesh.applyAndWait([sidecar], meshConfig({ timeout: "100ms" }));
    const slow = await get("/headers", { "x-ext-authz": "slow" });
    expect(slow.status).toBe(403);
    expect(slow.headers[RESPONSE_FLAGS_HEADER]).toBe("UAEX");
    const closedPort = await freePort();
    await mesh.applyAndWait(
      [sidecar],
      workloadEntry("ext-authz", { app: "ext-authz" }, closedPort),
      meshConfig({ statusOnError: "503" }),
    );
    const gone = await get("/headers", { "x-ext-authz": "allow" });
    expect(gone.status).toBe(503);
    expect(gone.headers[RESPONSE_FLAGS_HEADER]).toBe("UAEX");
    await mesh.applyAndWait([sidecar], meshConfig({ failOpen: true }));
    expect((await get("/headers")).status).toBe(200);
    expect(sidecar.stats().authz.extAuthz).toMatchObject({ error: 2, failureModeAllowed: 1 });
  });
});
