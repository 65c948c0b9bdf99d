import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { silentLogger } from "../../broker/logger.ts";
import { ROUTE_HEADER } from "../engine/index.ts";
import { type Sidecar, startSidecar } from "./sidecar.ts";
import {
  type Answer,
  call,
  service,
  startTestApp,
  startTestMesh,
  type TestApp,
  type TestMesh,
  waitFor,
  workloadEntry,
} from "./test-mesh.ts";

/**
 * A Gateway API mesh (GAMMA) HTTPRoute on a real sidecar: the route's parentRef is the Service
 * `echo`, so the client's outbound listener routes traffic addressed to `echo` by the route's
 * rules (matches, header filters, redirect, timeout, retry, invalid backend) to plain apps.
 */

let mesh: TestMesh;
let client: Sidecar;
const apps = new Map<string, TestApp>();
let flaky = 0;

const outbound = (path: string, headers: Record<string, string> = {}): Promise<Answer> =>
  call(client.outboundPort, "echo:9080", path, { headers });
const appOf = (a: Answer) => (JSON.parse(a.body) as { app: string }).app;
const to = (name: string) => [{ name, port: 9080 }];
const prefix = (value: string) => [{ path: { type: "PathPrefix", value } }];

beforeAll(async () => {
  mesh = await startTestMesh();
  const self = await startTestApp("client");
  apps.set("client", self);
  client = await startSidecar({
    nc: mesh.nc,
    verifier: mesh.verifier,
    proxy: { id: "sidecar~client~default", role: "sidecar", namespace: "default", labels: { app: "client" } },
    appPort: self.port,
    log: silentLogger,
  });
  for (const name of ["echo", "echo-v1", "echo-v2"]) apps.set(name, await startTestApp(name));
  apps.set(
    "flaky",
    await startTestApp("flaky", (_req, res) => {
      flaky++;
      if (flaky % 3 === 0) return false;
      res.writeHead(500).end("try again");
      return true;
    }),
  );
  const docs: object[] = [];
  for (const [name, app] of apps)
    if (name !== "client") docs.push(service(name), workloadEntry(name, { app: name }, app.port));
  docs.push({
    apiVersion: "gateway.networking.k8s.io/v1",
    kind: "HTTPRoute",
    metadata: { name: "echo", namespace: "default" },
    spec: {
      parentRefs: [{ group: "", kind: "Service", name: "echo", port: 9080 }],
      rules: [
        {
          matches: [{ path: { type: "Exact", value: "/v2" } }],
          filters: [
            {
              type: "RequestHeaderModifier",
              requestHeaderModifier: { set: [{ name: "X-Header-Set", value: "set-overwrites-values" }] },
            },
            {
              type: "ResponseHeaderModifier",
              responseHeaderModifier: { add: [{ name: "X-Header-Add", value: "added" }] },
            },
          ],
          backendRefs: to("echo-v2"),
        },
        { matches: prefix("/timeout"), timeouts: { request: "200ms" }, backendRefs: to("echo-v1") },
        { matches: prefix("/retry"), retry: { attempts: 3, codes: [500] }, backendRefs: to("flaky") },
        { matches: prefix("/invalid"), backendRefs: to("no-such-service") },
        {
          matches: prefix("/mirror"),
          filters: [
            { type: "RequestMirror", requestMirror: { backendRef: { name: "echo-v2", port: 9080 } } },
          ],
          backendRefs: to("echo-v1"),
        },
        {
          matches: prefix("/old"),
          filters: [{ type: "RequestRedirect", requestRedirect: { scheme: "https", statusCode: 301 } }],
        },
        { backendRefs: to("echo-v1") },
      ],
    },
  });
  await mesh.applyAndWait([client], ...docs);
}, 60_000);

afterAll(async () => {
  await client?.stop();
  for (const app of apps.values()) await app.stop().catch(() => {});
  await mesh?.stop();
});

describe("sidecar: Gateway API mesh (GAMMA) route", () => {
  it("routes traffic for the parent Service by the route's matches, with header filters", async () => {
    const v2 = await outbound("/v2", { "x-header-set": "old" });
    expect([v2.status, appOf(v2), v2.headers["x-header-add"]]).toEqual([200, "echo-v2", "added"]);
    expect(apps.get("echo-v2")?.lastHeaders["x-header-set"]).toBe("set-overwrites-values");
    expect(v2.headers[ROUTE_HEADER]).toBe("HTTPRoute/default/echo#0");
    const other = await outbound("/anything");
    expect(appOf(other)).toBe("echo-v1");
    expect(apps.get("echo")?.requests).toBe(0);
  });

  it("answers 504 when the request timeout passes", async () => {
    const slow = await outbound("/timeout?delay=1000");
    expect(slow.status).toBe(504);
  });

  it("retries the listed codes", async () => {
    const answer = await outbound("/retry");
    expect([answer.status, appOf(answer)]).toEqual([200, "flaky"]);
    expect(flaky).toBe(3);
  });

  it("mirrors a copy to the RequestMirror backend; the answer comes from the real one", async () => {
    const before = apps.get("echo-v2")?.requests ?? 0;
    const answer = await outbound("/mirror/x");
    expect([answer.status, appOf(answer)]).toEqual([200, "echo-v1"]);
    await waitFor(() => (apps.get("echo-v2")?.requests ?? 0) > before, 5_000, "the mirrored copy");
  });

  it("answers 500 for a backend that does not resolve, and redirects itself", async () => {
    expect((await outbound("/invalid")).status).toBe(500);
    const moved = await outbound("/old/x");
    expect([moved.status, moved.headers.location]).toEqual([301, "https://echo/old/x"]);
  });
});
