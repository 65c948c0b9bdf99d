import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { silentLogger } from "../../broker/logger.ts";
import { waitFor } from "../../test/support/wait-for.ts";
import { readSse, type SseItem } from "../cli/sse-reader.ts";
import type { ControlPlane } from "../plane/types.ts";
import { createAdminApp } from "./app.ts";
import { serveAdmin } from "./server.ts";
import { type AdminFixture, REVIEWS_RULE, REVIEWS_V1, startAdminFixture } from "./test-fixture.ts";
import type { EventFeed, StreamedEvent } from "./types.ts";

let fx: AdminFixture;
beforeAll(async () => {
  fx = await startAdminFixture();
});
afterAll(() => fx?.stop());

/** Reads SSE items until `until` matches one; returns everything read. */
async function readUntil(
  items: AsyncGenerator<SseItem>,
  until: (item: SseItem) => boolean,
): Promise<SseItem[]> {
  const seen: SseItem[] = [];
  // next() rather than for-await: leaving a for-await loop would close the generator for the next read.
  for (let next = await items.next(); !next.done; next = await items.next()) {
    seen.push(next.value);
    if (until(next.value)) return seen;
  }
  throw new Error(`stream ended after ${JSON.stringify(seen)}`);
}

describe("GET /api/v1/events", () => {
  it("streams verified applied events, filtered by kind, after a `subscribed` comment", async () => {
    const abort = new AbortController();
    const res = await fetch(`${fx.cp.adminUrl}/api/v1/events?kind=vs`, {
      headers: { authorization: `Bearer ${fx.cp.token}` },
      signal: abort.signal,
    });
    expect(res.status).toBe(200);
    expect(res.headers.get("content-type")).toMatch(/^text\/event-stream/);
    const items = readSse(res.body!);
    await readUntil(items, (i) => i.type === "comment" && i.text === "subscribed");

    for (const body of [REVIEWS_RULE, REVIEWS_V1]) {
      const applied = await fx.api("/api/v1/apply", { method: "POST", body, type: "application/yaml" });
      expect(applied.status).toBe(200);
    }
    const [message] = (await readUntil(items, (i) => i.type === "message")).filter(
      (i) => i.type === "message",
    );
    abort.abort();
    expect(message).toMatchObject({ event: "resource.applied" });
    const data = JSON.parse((message as { data: string }).data) as StreamedEvent;
    expect(data.event).toMatchObject({
      type: "resource.applied",
      ref: { kind: "VirtualService", name: "reviews" },
    });
    expect((message as { id?: string }).id).toBe(String(data.event.revision));
    expect(data.kid).toBe(fx.cp.trustJwks.keys[0]!.kid);
  });

  it("needs the token and refuses unknown filters", async () => {
    expect((await fx.api("/api/v1/events", { token: null })).status).toBe(401);
    expect((await fx.api("/api/v1/events?type=resource.exploded")).status).toBe(400);
    expect((await fx.api("/api/v1/events?kind=frobnicator")).status).toBe(400);
  });
});

describe("event stream lifecycle", () => {
  it("sends heartbeats while idle and drops the bus subscription when the client goes away", async () => {
    let stopped = 0;
    const feed: EventFeed = {
      async subscribe() {
        return { stop: () => stopped++ };
      },
    };
    const app = createAdminApp({
      plane: {} as ControlPlane,
      token: "t0ken-for-the-test",
      events: feed,
      trustJwks: { keys: [] },
      heartbeatMs: 10,
      log: silentLogger,
    });
    const server = await serveAdmin(app, { port: 0 });
    try {
      const res = await fetch(`${server.url}/api/v1/events`, {
        headers: { authorization: "Bearer t0ken-for-the-test" },
      });
      const items = readSse(res.body!);
      const seen = await readUntil(items, (i) => i.type === "comment" && i.text === "heartbeat");
      expect(seen[0]).toEqual({ type: "comment", text: "subscribed" });
      await items.return(undefined);
      await waitFor(() => stopped === 1, { what: "the subscription to stop" });
    } finally {
      await server.close();
    }
  });
});
