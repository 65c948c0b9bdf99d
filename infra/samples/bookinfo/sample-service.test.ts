import { createServer, type IncomingHttpHeaders, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startSampleService } from "./sample-service.ts";

/**
 * The sample services against a stand-in for the sidecar's outbound listener that answers by Host
 * header and records what it received.
 */

interface Seen {
  host: string;
  path: string;
  headers: IncomingHttpHeaders;
}

let fakeMesh: Server;
let outboundUrl: string;
const seen: Seen[] = [];
const stops: Array<() => Promise<void>> = [];

beforeAll(async () => {
  fakeMesh = createServer((req, res) => {
    seen.push({ host: req.headers.host ?? "", path: req.url ?? "", headers: req.headers });
    const host = req.headers.host ?? "";
    if (host === "details:9080") {
      res.writeHead(200, { "content-type": "application/json" }).end('{"service":"details","version":"v9"}');
    } else if (host === "ratings:9080") {
      res
        .writeHead(200, { "content-type": "application/json" })
        .end('{"service":"ratings","version":"v1","stars":{}}');
    } else {
      res
        .writeHead(503, { "x-jibe-response-flags": "UH", "x-jibe-route": "Service/default/reviews#default" })
        .end("no healthy endpoint\n");
    }
  });
  await new Promise<void>((resolve) => fakeMesh.listen(0, "127.0.0.1", resolve));
  outboundUrl = `http://127.0.0.1:${(fakeMesh.address() as AddressInfo).port}`;
});

afterAll(async () => {
  for (const stop of stops) await stop();
  fakeMesh.closeAllConnections();
  await new Promise((resolve) => fakeMesh.close(resolve));
});

async function started(
  service: "productpage" | "details" | "reviews" | "ratings",
  version: string,
  url = outboundUrl,
) {
  const running = await startSampleService({ service, version, outboundUrl: url });
  stops.push(() => running.stop());
  return `http://127.0.0.1:${running.port}`;
}

describe("bookinfo sample services", () => {
  it("productpage shows details and degrades a failed reviews call instead of failing the page", async () => {
    const base = await started("productpage", "v1");
    const response = await fetch(`${base}/productpage`);
    expect(response.status).toBe(200);
    const page = (await response.json()) as Record<string, unknown>;
    expect(page).toMatchObject({
      service: "productpage",
      version: "v1",
      details: { service: "details", version: "v9" },
    });
    expect(page.reviews).toMatchObject({
      error: "reviews unavailable",
      status: 503,
      flags: "UH",
      route: "Service/default/reviews#default",
    });
  });

  it("productpage forwards end-user and tracing headers, not others, with the Host of the target service", async () => {
    const base = await started("productpage", "v1");
    seen.length = 0;
    await fetch(`${base}/productpage`, {
      headers: {
        "end-user": "jason",
        "x-request-id": "req-1",
        traceparent: "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01",
        "x-b3-traceid": "80f198ee56343ba864fe8b2a57d3eff7",
        "x-private": "do-not-forward",
      },
    });
    expect(seen.map((s) => s.host).sort()).toEqual(["details:9080", "reviews:9080"]);
    for (const call of seen) {
      expect(call.headers["end-user"]).toBe("jason");
      expect(call.headers["x-request-id"]).toBe("req-1");
      expect(call.headers.traceparent).toMatch(/^00-0af7/);
      expect(call.headers["x-b3-traceid"]).toBe("80f198ee56343ba864fe8b2a57d3eff7");
      expect(call.headers["x-private"]).toBeUndefined();
    }
  });

  it("productpage takes the user from ?user= when no end-user header is sent", async () => {
    const base = await started("productpage", "v1");
    seen.length = 0;
    const page = (await (await fetch(`${base}/productpage?user=jason`)).json()) as { user?: string };
    expect(page.user).toBe("jason");
    expect(seen.every((s) => s.headers["end-user"] === "jason")).toBe(true);
  });

  it("reviews v1 shows no ratings; v3 asks ratings and shows red stars", async () => {
    const v1 = (await (await fetch(`${await started("reviews", "v1")}/reviews/0`)).json()) as Record<
      string,
      unknown
    >;
    expect(v1).toMatchObject({ service: "reviews", version: "v1" });
    expect(v1.ratings).toBeUndefined();
    const v3 = (await (await fetch(`${await started("reviews", "v3")}/reviews/0`)).json()) as Record<
      string,
      unknown
    >;
    expect(v3).toMatchObject({
      service: "reviews",
      version: "v3",
      ratings: { service: "ratings", color: "red" },
    });
  });

  it("answers its own routes and /health, 404 for others", async () => {
    const base = await started("ratings", "v1");
    expect(await (await fetch(`${base}/ratings/7`)).json()).toMatchObject({
      service: "ratings",
      version: "v1",
      id: 7,
    });
    expect(await (await fetch(`${base}/health`)).json()).toMatchObject({
      status: "Healthy",
      service: "ratings",
    });
    expect((await fetch(`${base}/reviews/0`)).status).toBe(404);
    const details = await started("details", "v1");
    expect(await (await fetch(`${details}/details/0`)).json()).toMatchObject({
      service: "details",
      author: "William Shakespeare",
    });
  });

  it("reports a call that cannot reach the sidecar at all as unavailable", async () => {
    const base = await started("productpage", "v1", "http://127.0.0.1:1");
    const page = (await (await fetch(`${base}/productpage`)).json()) as {
      reviews: { error: string; detail?: string };
    };
    expect(page.reviews.error).toBe("reviews unavailable");
    expect(page.reviews.detail).toMatch(/ECONNREFUSED/);
  });
});
