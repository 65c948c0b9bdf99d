import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createSigner, generateSigningKey, type Signer } from "../../broker/envelope.ts";
import type { NatsServerHandle } from "../../broker/nats-launcher.ts";
import { applySigned, loopbackService } from "../../test/support/apply-signed.ts";
import { startTestNats } from "../../test/support/nats.ts";
import { type EdgeWorkerHandle, startEdgeWorker } from "./dev-server.ts";

/**
 * A CUSTOM policy at the edge, end to end: the real edge worker in workerd (wrangler), policy over
 * a real nats-server, and a real HTTP ext-authz server on loopback that the worker calls with
 * `fetch`. The provider is configured in ConfigMap istio-system/istio, as in Istio.
 */

let nats: NatsServerHandle;
let signer: Signer;
let edge: EdgeWorkerHandle;
const servers: Server[] = [];
const checks: string[] = [];

async function listen(handler: Parameters<typeof createServer>[1]): Promise<number> {
  const server = createServer(handler);
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  servers.push(server);
  return (server.address() as AddressInfo).port;
}

const apply = (...docs: object[]) => applySigned(nats.url, signer, ...docs);

const service = loopbackService;

async function until(check: () => Promise<boolean>, what: string, timeoutMs = 20_000): Promise<void> {
  const started = Date.now();
  while (!(await check())) {
    if (Date.now() - started > timeoutMs) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

beforeAll(async () => {
  nats = await startTestNats();
  const key = await generateSigningKey();
  signer = await createSigner(key.privateJwk);
  edge = await startEdgeWorker({
    natsWsUrl: nats.wsUrl,
    trustJwks: key.publicJwks,
    port: 0,
    logLevel: "warn",
  });
  const app = await listen((req, res) => {
    res
      .writeHead(200, { "content-type": "text/plain" })
      .end(`app saw x-user=${req.headers["x-user"] ?? "-"}`);
  });
  const authorizer = await listen((req, res) => {
    checks.push(`${req.method} ${req.url}`);
    if (req.headers["x-ext-authz"] === "allow") res.writeHead(200, { "x-user": "alice" }).end();
    else res.writeHead(403, { "x-ext-authz-check-result": "denied" }).end("denied by ext_authz");
  });
  await apply(
    ...service("app", app),
    ...service("ext-authz", authorizer),
    {
      apiVersion: "networking.istio.io/v1",
      kind: "VirtualService",
      metadata: { name: "edge", namespace: "default" },
      spec: {
        hosts: ["*"],
        gateways: ["jibe-edge"],
        http: [{ route: [{ destination: { host: "app", port: { number: 80 } } }] }],
      },
    },
    {
      apiVersion: "v1",
      kind: "ConfigMap",
      metadata: { name: "istio", namespace: "istio-system" },
      data: {
        mesh: [
          "extensionProviders:",
          "- name: ext-authz-http",
          "  envoyExtAuthzHttp:",
          "    service: ext-authz.default.svc.cluster.local",
          "    port: 80",
          "    pathPrefix: /check",
          '    includeRequestHeadersInCheck: ["x-ext-authz"]',
          '    headersToUpstreamOnAllow: ["x-user"]',
        ].join("\n"),
      },
    },
    {
      apiVersion: "security.istio.io/v1",
      kind: "AuthorizationPolicy",
      metadata: { name: "ext-authz", namespace: "default" },
      spec: {
        targetRefs: [{ group: "gateway.networking.k8s.io", kind: "Gateway", name: "jibe-edge" }],
        action: "CUSTOM",
        provider: { name: "ext-authz-http" },
        rules: [{ to: [{ operation: { paths: ["/private/*"] } }] }],
      },
    },
  );
}, 60_000);

afterAll(async () => {
  await edge?.stop();
  await nats?.stop();
  for (const server of servers) server.close();
});

describe("edge worker: CUSTOM policy with a real ext-authz server", () => {
  it("asks the authorizer over fetch: its denial is the answer (UAEX), its allow adds x-user upstream", async () => {
    await until(
      async () => (await fetch(`${edge.url}/private/x`)).status === 403,
      "the CUSTOM policy to reach the edge",
    );
    const denied = await fetch(`${edge.url}/private/x?q=1`, { headers: { "x-ext-authz": "deny" } });
    expect(denied.status).toBe(403);
    expect(await denied.text()).toBe("denied by ext_authz");
    expect(denied.headers.get("x-ext-authz-check-result")).toBe("denied");
    expect(denied.headers.get("x-jibe-response-flags")).toBe("UAEX");
    expect(checks).toContain("GET /check/private/x?q=1");
    const allowed = await fetch(`${edge.url}/private/x`, { headers: { "x-ext-authz": "allow" } });
    expect(allowed.status).toBe(200);
    expect(await allowed.text()).toBe("app saw x-user=alice");
    const before = checks.length;
    expect((await fetch(`${edge.url}/public`)).status).toBe(200);
    expect(checks.length).toBe(before);
  }, 40_000);
});
