import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { waitFor } from "../support/wait-for.ts";
import { type ApiServerDouble, startApiServerDouble } from "./api-server.ts";
import type { KubeObject } from "./object-store.ts";

let api: ApiServerDouble;
beforeEach(async () => {
  api = await startApiServerDouble({ token: "t0ken" });
});
afterEach(() => api.stop());

const auth = { authorization: "Bearer t0ken" };
const VS = "/apis/networking.istio.io/v1/namespaces/default/virtualservices";

function vs(name: string, hosts: string[], namespace = "default"): KubeObject {
  return {
    apiVersion: "networking.istio.io/v1",
    kind: "VirtualService",
    metadata: { name, namespace },
    spec: { hosts },
  };
}

async function get(path: string): Promise<{ status: number; body: Record<string, unknown> }> {
  const response = await fetch(api.url + path, { headers: auth });
  return { status: response.status, body: (await response.json()) as Record<string, unknown> };
}

async function send(method: string, path: string, body: object, contentType = "application/json") {
  const response = await fetch(api.url + path, {
    method,
    headers: { ...auth, "content-type": contentType },
    body: JSON.stringify(body),
  });
  return {
    status: response.status,
    body: (await response.json()) as KubeObject & { reason?: string; code?: number },
  };
}

/** Reads watch lines until `count` arrived or the server ended the stream. */
async function watchLines(path: string, count = Number.POSITIVE_INFINITY, during?: () => void) {
  const response = await fetch(api.url + path, { headers: auth });
  const reader = response.body!.pipeThrough(new TextDecoderStream()).getReader();
  const lines: { type: string; object: KubeObject & { code?: number; message?: string } }[] = [];
  let buffer = "";
  during?.();
  while (lines.length < count) {
    const { value, done } = await reader.read();
    if (done) break;
    buffer += value;
    for (let nl = buffer.indexOf("\n"); nl >= 0; nl = buffer.indexOf("\n")) {
      lines.push(JSON.parse(buffer.slice(0, nl)));
      buffer = buffer.slice(nl + 1);
    }
  }
  await reader.cancel();
  return { status: response.status, lines };
}

describe("API-server double: list and resourceVersion", () => {
  it("stamps objects and lists with one global revision, across types", async () => {
    api.apply({ apiVersion: "v1", kind: "Namespace", metadata: { name: "default" } });
    const created = api.apply(vs("reviews", ["reviews"]));
    expect(created.metadata.resourceVersion).toBe("2");
    const list = await get(VS);
    expect(list.body).toMatchObject({ kind: "VirtualServiceList", metadata: { resourceVersion: "2" } });
    expect((await get("/apis/networking.istio.io/v1/virtualservices")).body.items).toHaveLength(1);
    expect(
      (await get("/apis/networking.istio.io/v1beta1/namespaces/other/virtualservices")).body.items,
    ).toEqual([]);
  });

  it("refuses requests without the bearer token, and unknown resources", async () => {
    expect((await fetch(api.url + VS)).status).toBe(401);
    expect((await get("/apis/networking.istio.io/v1/envoyfilters")).status).toBe(404);
  });

  it("serves an Exact list at an older retained revision, 410 once compacted, and validates the match", async () => {
    api.apply(vs("a", ["a"]));
    api.apply(vs("b", ["b"]));
    api.apply(vs("a", ["a", "a2"]));
    const atOne = await get(`${VS}?resourceVersion=1&resourceVersionMatch=Exact`);
    expect(atOne.body.items).toMatchObject([{ metadata: { name: "a" }, spec: { hosts: ["a"] } }]);
    api.compact(2);
    const gone = await get(`${VS}?resourceVersion=1&resourceVersionMatch=Exact`);
    expect(gone).toMatchObject({ status: 410, body: { reason: "Expired", code: 410 } });
    expect((await get(`${VS}?resourceVersionMatch=Exact`)).status).toBe(422);
    expect((await get(`${VS}?resourceVersion=3&resourceVersionMatch=Newest`)).status).toBe(422);
    expect((await get(`${VS}?resourceVersion=1&resourceVersionMatch=NotOlderThan`)).body.items).toHaveLength(
      2,
    );
    expect((await get(`${VS}?resourceVersion=99`)).status).toBe(504);
  });
});

describe("API-server double: watch", () => {
  it("replays changes after the requested revision, then streams live ones", async () => {
    api.apply(vs("a", ["a"]));
    api.apply(vs("b", ["b"]));
    const { lines } = await watchLines(`${VS}?watch=1&resourceVersion=1`, 3, () => {
      setTimeout(() => api.remove("networking.istio.io/v1", "VirtualService", "default", "a"), 20);
      setTimeout(() => api.apply(vs("b", ["b", "c"])), 30);
    });
    expect(lines.map((l) => [l.type, l.object.metadata.name, l.object.metadata.resourceVersion])).toEqual([
      ["ADDED", "b", "2"],
      ["DELETED", "a", "3"],
      ["MODIFIED", "b", "4"],
    ]);
  });

  it("starts with synthetic ADDED events when no revision is given", async () => {
    api.apply(vs("a", ["a"]));
    const { lines } = await watchLines(`${VS}?watch=true`, 1);
    expect(lines[0]).toMatchObject({ type: "ADDED", object: { metadata: { name: "a" } } });
  });

  it("answers a watch from a compacted revision with one ERROR event (410 Expired) and ends", async () => {
    api.apply(vs("a", ["a"]));
    api.apply(vs("b", ["b"]));
    api.compact();
    const { status, lines } = await watchLines(`${VS}?watch=1&resourceVersion=1`);
    expect(status).toBe(200);
    expect(lines).toEqual([
      {
        type: "ERROR",
        object: expect.objectContaining({
          kind: "Status",
          code: 410,
          reason: "Expired",
          message: "too old resource version: 1 (3)",
        }),
      },
    ]);
  });

  it("sends bookmarks only to watches that allowed them, and ends the stream after timeoutSeconds", async () => {
    api.apply(vs("a", ["a"]));
    api.apply({ apiVersion: "v1", kind: "Namespace", metadata: { name: "other" } });
    const started = Date.now();
    const [withBookmarks, without] = await Promise.all([
      watchLines(`${VS}?watch=1&resourceVersion=1&allowWatchBookmarks=true&timeoutSeconds=1`),
      watchLines(
        `${VS}?watch=1&resourceVersion=1&timeoutSeconds=1`,
        Number.POSITIVE_INFINITY,
        () => void waitFor(() => api.openWatches === 2).then(() => api.bookmark()),
      ),
    ]);
    expect(Date.now() - started).toBeGreaterThanOrEqual(900);
    expect(withBookmarks.lines).toEqual([
      {
        type: "BOOKMARK",
        object: {
          apiVersion: "networking.istio.io/v1",
          kind: "VirtualService",
          metadata: { name: "", resourceVersion: "2" },
        },
      },
    ]);
    expect(without.lines).toEqual([]);
    expect((await get(`${VS}?watch=1&resourceVersionMatch=Exact&resourceVersion=1`)).status).toBe(422);
  });

  it("drops watches on restart and, by default, forgets the history before it", async () => {
    api.apply(vs("a", ["a"]));
    api.apply(vs("b", ["b"]));
    const open = watchLines(`${VS}?watch=1&resourceVersion=2`);
    await new Promise((r) => setTimeout(r, 50));
    await api.restart({ downMs: 20 });
    await expect(open).resolves.toMatchObject({ lines: [] });
    const { lines } = await watchLines(`${VS}?watch=1&resourceVersion=1`);
    expect(lines[0]).toMatchObject({ type: "ERROR", object: { code: 410 } });
    expect((await get(VS)).body.items).toHaveLength(2);
  });
});

describe("API-server double: writes, status subresource, events", () => {
  it("changes only status through /status (PUT and merge PATCH) and ignores status on the main resource", async () => {
    const created = (await send("POST", VS, vs("a", ["a"]))).body;
    const status = { conditions: [{ type: "Accepted", status: "False" }] };
    const put = await send("PUT", `${VS}/a/status`, { ...created, spec: { hosts: ["changed"] }, status });
    expect(put.body).toMatchObject({ spec: { hosts: ["a"] }, status, metadata: { generation: 1 } });
    const stale = await send("PUT", `${VS}/a/status`, { ...created, status: {} });
    expect(stale).toMatchObject({ status: 409, body: { reason: "Conflict" } });
    const patched = await send(
      "PATCH",
      `${VS}/a/status`,
      { status: { observedGeneration: 1 } },
      "application/merge-patch+json",
    );
    expect(patched.body.status).toMatchObject({ observedGeneration: 1, conditions: status.conditions });
    const replaced = await send("PUT", `${VS}/a`, { ...patched.body, spec: { hosts: ["b"] }, status: {} });
    expect(replaced.body).toMatchObject({
      spec: { hosts: ["b"] },
      metadata: { generation: 2 },
      status: patched.body.status,
    });
  });

  it("creates core v1 Events (generateName) and refuses duplicates and mismatched namespaces", async () => {
    const event = {
      apiVersion: "v1",
      kind: "Event",
      metadata: { generateName: "reviews." },
      involvedObject: { kind: "VirtualService", name: "reviews", namespace: "default" },
      reason: "Invalid",
      message: "spec.hosts: required",
      type: "Warning",
    };
    const created = await send("POST", "/api/v1/namespaces/default/events", event);
    expect(created.status).toBe(201);
    expect(created.body.metadata.name).toMatch(/^reviews\./);
    expect((await get("/api/v1/events")).body.items).toHaveLength(1);
    const again = await send("POST", "/api/v1/namespaces/default/events", {
      ...event,
      metadata: created.body.metadata,
    });
    expect(again.status).toBe(409);
    const wrongNs = await send("POST", VS, vs("x", ["x"], "other"));
    expect(wrongNs.status).toBe(422);
  });
});
