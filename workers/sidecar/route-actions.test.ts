import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { silentLogger } from "../../broker/logger.ts";
import { RESPONSE_FLAGS_HEADER, ROUTE_HEADER } from "../engine/index.ts";
import { type Sidecar, startSidecar } from "./sidecar.ts";
import {
  type Answer,
  call,
  service,
  startTestApp,
  startTestMesh,
  type TestApp,
  type TestAppHandler,
  type TestMesh,
  virtualService,
  waitFor,
  workloadEntry,
} from "./test-mesh.ts";

/**
 * VirtualService actions on a real sidecar: a client's outbound listener routes to plain upstream
 * apps (WorkloadEntries pointing at them). Each test applies its own VirtualService.
 */

let mesh: TestMesh;
let client: Sidecar;
const apps = new Map<string, TestApp>();
const stops: Array<() => Promise<void>> = [];

/** Requests seen by each app: method, path, host and selected headers. */
const seen = new Map<
  string,
  Array<{ method: string; path: string; host: string; headers: Record<string, unknown> }>
>();

async function app(name: string, handler?: TestAppHandler): Promise<void> {
  const running = await startTestApp(name, (req, res) => {
    const list = seen.get(name) ?? [];
    list.push({
      method: req.method ?? "",
      path: req.url ?? "",
      host: req.headers.host ?? "",
      headers: req.headers,
    });
    seen.set(name, list);
    return handler?.(req, res) ?? false;
  });
  apps.set(name, running);
  stops.push(() => running.stop());
}

const applyAndWait = (...documents: object[]) => mesh.applyAndWait([client], ...documents);

function outbound(authority: string, path = "/", options: Parameters<typeof call>[3] = {}): Promise<Answer> {
  return call(client.outboundPort, authority, path, options);
}

const to = (host: string) => [{ destination: { host } }];
const flags = (a: Answer) => a.headers[RESPONSE_FLAGS_HEADER];

let flaky = 0;
beforeAll(async () => {
  mesh = await startTestMesh();
  const self = await startTestApp("client");
  stops.push(() => self.stop());
  client = await startSidecar({
    nc: mesh.nc,
    verifier: mesh.verifier,
    proxy: { id: "sidecar~client~default", role: "sidecar", namespace: "default", labels: { app: "client" } },
    appPort: self.port,
    log: silentLogger,
  });
  stops.push(() => client.stop());
  await app("web");
  await app("shadow", (_req, res) => {
    // A slow, failing mirror must not slow or fail the real request.
    setTimeout(() => res.writeHead(500).end("mirror broke"), 300);
    return true;
  });
  await app("flaky", (_req, res) => {
    flaky++;
    if (flaky % 3 === 0) return false;
    res.writeHead(503).end("try again");
    return true;
  });
  await app("broken", (_req, res) => {
    res.writeHead(503).end("always down");
    return true;
  });
  await app("slow-first", (req, res) => {
    if ((seen.get("slow-first")?.length ?? 0) % 2 === 1) {
      const timer = setTimeout(() => res.writeHead(200).end("late"), 2_000);
      req.socket.once("close", () => clearTimeout(timer));
      return true;
    }
    return false;
  });
  const docs: object[] = [];
  for (const name of apps.keys()) {
    docs.push(service(name), workloadEntry(name, { app: name }, apps.get(name)?.port ?? 0));
  }
  await applyAndWait(...docs);
}, 60_000);

afterAll(async () => {
  for (const stop of stops.reverse()) await stop().catch(() => {});
  await mesh?.stop();
});

describe("sidecar: redirects and direct responses", () => {
  it("answers 301/302/307/308 redirects itself with Location; the upstream never sees them", async () => {
    await applyAndWait(
      virtualService("web", [
        ...[302, 307, 308].map((code) => ({
          match: [{ uri: { prefix: `/r${code}` } }],
          redirect: { uri: `/moved${code}`, redirectCode: code },
        })),
        { match: [{ uri: { exact: "/old" } }], redirect: { uri: "/new", authority: "www.example.com" } },
        {
          match: [{ uri: { exact: "/teapot" } }],
          directResponse: { status: 418, body: { string: "short" } },
        },
        { route: to("web") },
      ]),
    );
    const before = apps.get("web")?.requests ?? 0;
    const moved = await outbound("web:9080", "/old?x=1");
    expect([moved.status, moved.headers.location]).toEqual([301, "http://www.example.com/new?x=1"]);
    expect(moved.headers[ROUTE_HEADER]).toBe("VirtualService/default/web#3");
    for (const code of [302, 307, 308]) {
      const answer = await outbound("web:9080", `/r${code}/a`);
      expect([answer.status, answer.headers.location]).toEqual([code, `http://web:9080/moved${code}`]);
    }
    const teapot = await outbound("web:9080", "/teapot");
    expect([teapot.status, teapot.body]).toEqual([418, "short\n"]);
    expect(apps.get("web")?.requests).toBe(before);
  });
});

describe("sidecar: rewrites and headers", () => {
  it("rewrites the path (query kept) and Host seen by the upstream, and applies header policies", async () => {
    await applyAndWait(
      virtualService("web", [
        {
          match: [{ uri: { prefix: "/api/v1/" } }],
          rewrite: { uri: "/", authority: "backend.internal" },
          headers: {
            request: { set: { "x-env": "prod" }, add: { "x-hop": "jibe" }, remove: ["x-debug"] },
            response: { set: { "cache-control": "no-store" }, remove: ["content-type"] },
          },
          route: to("web"),
        },
      ]),
    );
    const answer = await outbound("web:9080", "/api/v1/items/7?full=1", {
      headers: { "x-debug": "1", "x-env": "dev" },
    });
    expect(answer.status).toBe(200);
    expect(JSON.parse(answer.body)).toMatchObject({ path: "/items/7" });
    const last = seen.get("web")?.at(-1);
    expect(last?.path).toBe("/items/7?full=1");
    expect(last?.host).toBe("backend.internal");
    expect(last?.headers).toMatchObject({ "x-env": "prod", "x-hop": "jibe" });
    expect(last?.headers["x-debug"]).toBeUndefined();
    expect(answer.headers["cache-control"]).toBe("no-store");
    expect(answer.headers["content-type"]).toBeUndefined();
  });
});

describe("sidecar: retries", () => {
  it("retries a 503 twice by default (Istio's policy): an upstream failing twice then answering gives 200", async () => {
    await applyAndWait(virtualService("flaky", [{ route: to("flaky") }]));
    flaky = 0;
    const answer = await outbound("flaky:9080", "/");
    expect(answer.status).toBe(200);
    expect(flaky).toBe(3);
    expect(flags(answer)).toBeUndefined();
  });

  it("returns the last answer flagged URX when the attempts run out", async () => {
    await applyAndWait(
      virtualService("broken", [{ retries: { attempts: 3, retryOn: "5xx" }, route: to("broken") }]),
    );
    const before = apps.get("broken")?.requests ?? 0;
    const answer = await outbound("broken:9080", "/");
    expect([answer.status, answer.body, flags(answer)]).toEqual([503, "always down", "URX"]);
    expect((apps.get("broken")?.requests ?? 0) - before).toBe(4);
  });

  it("does not retry when retries are off or the status is not retriable", async () => {
    await applyAndWait(virtualService("broken", [{ retries: { attempts: 0 }, route: to("broken") }]));
    const before = apps.get("broken")?.requests ?? 0;
    expect((await outbound("broken:9080", "/")).status).toBe(503);
    expect((apps.get("broken")?.requests ?? 0) - before).toBe(1);
  });

  it("gives up on a slow attempt after perTryTimeout and retries it", async () => {
    await applyAndWait(
      virtualService("slow-first", [
        { retries: { attempts: 2, perTryTimeout: "0.1s", retryOn: "5xx" }, route: to("slow-first") },
      ]),
    );
    seen.set("slow-first", []);
    const started = performance.now();
    const answer = await outbound("slow-first:9080", "/");
    expect(answer.status).toBe(200);
    expect(performance.now() - started).toBeLessThan(1_000);
    expect(seen.get("slow-first")).toHaveLength(2);
  });

  it("resends a buffered request body on retry", async () => {
    await applyAndWait(virtualService("flaky", [{ route: to("flaky") }]));
    flaky = 0;
    const answer = await outbound("flaky:9080", "/echo", { method: "POST", body: Buffer.from("payload") });
    expect([answer.status, answer.body]).toEqual([200, "payload"]);
  });
});

describe("sidecar: faults", () => {
  it("aborts with the configured status and FI; delays with DI; no timeout or retry applies", async () => {
    await applyAndWait(
      virtualService("web", [
        {
          match: [{ headers: { "end-user": { exact: "jason" } } }],
          fault: { abort: { httpStatus: 500, percentage: { value: 100 } } },
          route: to("web"),
        },
        {
          match: [{ uri: { prefix: "/slow" } }],
          fault: { delay: { fixedDelay: "300ms", percentage: { value: 100 } } },
          timeout: "0.1s",
          route: to("web"),
        },
        { route: to("web") },
      ]),
    );
    const before = apps.get("web")?.requests ?? 0;
    const aborted = await outbound("web:9080", "/", { headers: { "end-user": "jason" } });
    expect([aborted.status, aborted.body, flags(aborted)]).toEqual([500, "fault filter abort\n", "FI"]);
    expect(apps.get("web")?.requests).toBe(before);
    const started = performance.now();
    const delayed = await outbound("web:9080", "/slow");
    expect(performance.now() - started).toBeGreaterThanOrEqual(290);
    expect([delayed.status, flags(delayed)]).toEqual([200, "DI"]);
    expect(flags(await outbound("web:9080", "/fast"))).toBeUndefined();
  });
});

describe("sidecar: CORS", () => {
  it("answers allowed preflights itself, adds ACAO to allowed requests only", async () => {
    await applyAndWait(
      virtualService("web", [
        {
          corsPolicy: {
            allowOrigins: [{ exact: "https://app.example" }],
            allowMethods: ["GET", "PUT"],
            allowHeaders: ["x-token"],
            exposeHeaders: ["x-page"],
            maxAge: "1h",
            allowCredentials: true,
          },
          route: to("web"),
        },
      ]),
    );
    const before = apps.get("web")?.requests ?? 0;
    const preflight = await outbound("web:9080", "/items", {
      method: "OPTIONS",
      headers: { origin: "https://app.example", "access-control-request-method": "PUT" },
    });
    expect(preflight.status).toBe(200);
    expect(preflight.headers).toMatchObject({
      "access-control-allow-origin": "https://app.example",
      "access-control-allow-methods": "GET,PUT",
      "access-control-allow-headers": "x-token",
      "access-control-max-age": "3600",
      "access-control-allow-credentials": "true",
    });
    expect(apps.get("web")?.requests).toBe(before);
    const allowed = await outbound("web:9080", "/items", { headers: { origin: "https://app.example" } });
    expect(allowed.headers).toMatchObject({
      "access-control-allow-origin": "https://app.example",
      "access-control-expose-headers": "x-page",
    });
    const other = await outbound("web:9080", "/items", { headers: { origin: "https://evil.example" } });
    expect(other.status).toBe(200);
    expect(other.headers["access-control-allow-origin"]).toBeUndefined();
    // Not an allowed origin: the preflight goes upstream (FORWARD, Istio's default), unanswered by CORS.
    const forwarded = await outbound("web:9080", "/items", {
      method: "OPTIONS",
      headers: { origin: "https://evil.example", "access-control-request-method": "PUT" },
    });
    expect(forwarded.headers["access-control-allow-origin"]).toBeUndefined();
    expect((apps.get("web")?.requests ?? 0) - before).toBe(3);
  });
});

describe("sidecar: mirrors", () => {
  it("sends a -shadow copy to the mirror; its slow failure never touches the response", async () => {
    await applyAndWait(
      virtualService("web", [
        { route: to("web"), mirror: { host: "shadow" }, mirrorPercentage: { value: 100 } },
      ]),
    );
    seen.set("shadow", []);
    const started = performance.now();
    const answer = await outbound("web:9080", "/echo", { method: "POST", body: Buffer.from("copy me") });
    expect([answer.status, answer.body]).toEqual([200, "copy me"]);
    expect(performance.now() - started).toBeLessThan(250);
    await waitFor(() => (seen.get("shadow")?.length ?? 0) === 1, 2_000, "the mirrored copy");
    expect(seen.get("shadow")?.[0]).toMatchObject({ method: "POST", path: "/echo", host: "web-shadow:9080" });
  });
});
