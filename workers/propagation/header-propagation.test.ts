import { type ChildProcess, spawn } from "node:child_process";
import { createServer, type IncomingHttpHeaders, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { fileURLToPath } from "node:url";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { PROPAGATION_HEADERS } from "./header-propagation.ts";

/**
 * A real Node app (test-app.ts, no tracing code at all) started with and without
 * `--import ./preload.ts`; a real upstream records what the app's outbound calls carried.
 */

const APP = fileURLToPath(new URL("./test-app.ts", import.meta.url));
const PRELOAD = fileURLToPath(new URL("./preload.ts", import.meta.url));

let upstream: Server;
const seen: IncomingHttpHeaders[] = [];
const children: ChildProcess[] = [];

async function startApp(preload: boolean): Promise<number> {
  const child = spawn(process.execPath, [...(preload ? ["--import", PRELOAD] : []), APP], {
    env: {
      ...process.env,
      UPSTREAM_URL: `http://127.0.0.1:${(upstream.address() as AddressInfo).port}/`,
      JIBE_PROPAGATE_EXTRA_HEADERS: "end-user",
    },
    stdio: ["ignore", "pipe", "inherit"],
  });
  children.push(child);
  return new Promise((resolve, reject) => {
    let out = "";
    child.stdout?.on("data", (chunk: Buffer) => {
      out += chunk.toString();
      const port = /listening (\d+)/.exec(out)?.[1];
      if (port) resolve(Number(port));
    });
    child.once("exit", (code) => reject(new Error(`test app exited with ${code}: ${out}`)));
  });
}

let plain: number;
let preloaded: number;

beforeAll(async () => {
  upstream = createServer((req, res) => {
    seen.push(req.headers);
    res.end(JSON.stringify(req.headers));
  });
  await new Promise<void>((resolve) => upstream.listen(0, "127.0.0.1", resolve));
  [plain, preloaded] = await Promise.all([startApp(false), startApp(true)]);
}, 30_000);

afterAll(async () => {
  for (const child of children) child.kill("SIGTERM");
  await new Promise<void>((resolve) => upstream.close(() => resolve()));
});

const trace = (n: number) => ({
  "x-request-id": `req-${n}`,
  traceparent: `00-${String(n).padStart(32, "a")}-${String(n).padStart(16, "b")}-01`,
  tracestate: `jibe=${n}`,
  baggage: `user=${n}`,
  b3: `${String(n).padStart(32, "a")}-${String(n).padStart(16, "b")}-1`,
  "x-b3-traceid": String(n).padStart(32, "a"),
  "x-b3-spanid": String(n).padStart(16, "b"),
  "x-b3-sampled": "1",
  "end-user": `user-${n}`,
});

async function callApp(port: number, query: string, headers: Record<string, string>) {
  const response = await fetch(`http://127.0.0.1:${port}/call?${query}`, { headers });
  expect(response.status).toBe(200);
  return (await response.json()) as Record<string, string>;
}

describe("header propagation preload", () => {
  it("without the preload the app's outbound calls carry none of the trace headers (Istio's problem)", async () => {
    const got = await callApp(plain, "via=fetch", trace(1));
    for (const name of PROPAGATION_HEADERS) expect(got[name], name).toBeUndefined();
  });

  it.each(["fetch", "http"])("with --import, %s calls carry the inbound request's headers", async (via) => {
    const sent = trace(2);
    const got = await callApp(preloaded, `via=${via}`, sent);
    for (const [name, value] of Object.entries(sent)) expect(got[name], name).toBe(value);
    expect(got["x-b3-parentspanid"]).toBeUndefined(); // only what came in is carried
  });

  it("keeps concurrent requests apart across async gaps, and an app's own header wins", async () => {
    const answers = await Promise.all(
      Array.from({ length: 8 }, (_, i) =>
        callApp(preloaded, `via=${i % 2 ? "http" : "fetch"}&delay=${(8 - i) * 15}`, trace(10 + i)),
      ),
    );
    answers.forEach((got, i) => {
      expect(got.traceparent).toBe(trace(10 + i).traceparent);
      expect(got["x-request-id"]).toBe(`req-${10 + i}`);
    });
    const own = await callApp(preloaded, "via=fetch&own=1", trace(30));
    expect(own["x-request-id"]).toBe("app-chose");
    expect(own.traceparent).toBe(trace(30).traceparent);
  });

  it("adds nothing when the inbound request carried no trace headers", async () => {
    const before = seen.length;
    const got = await callApp(preloaded, "via=fetch", {});
    expect(seen.length).toBe(before + 1);
    for (const name of PROPAGATION_HEADERS) expect(got[name], name).toBeUndefined();
  });
});
