import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type AdminFixture, REVIEWS_V1, startAdminFixture } from "./test-fixture.ts";

let fx: AdminFixture;
beforeAll(async () => {
  fx = await startAdminFixture();
});
afterAll(() => fx?.stop());

describe("admin API authentication", () => {
  it("serves /healthz and /readyz without credentials", async () => {
    const health = await fx.api("/healthz", { token: null });
    expect(health.status).toBe(200);
    const ready = await fx.api("/readyz", { token: null });
    expect(ready.status).toBe(200);
    expect(await ready.json()).toMatchObject({
      status: "ready",
      checks: { nats: expect.stringMatching(/^ok/) },
    });
  });

  it.each([
    ["no Authorization header", null],
    ["a wrong token", "not-the-token"],
    ["the token with one character changed", "x"],
  ])("refuses %s with 401 and a JSON error", async (_what, token) => {
    const presented =
      token === "x" ? `${fx.cp.token.slice(0, -1)}${fx.cp.token.endsWith("A") ? "B" : "A"}` : token;
    for (const path of ["/api/v1/resources", "/api/v1/trust", "/api/v1/nowhere"]) {
      const res = await fx.api(path, { token: presented });
      expect(res.status, path).toBe(401);
      expect(res.headers.get("www-authenticate")).toMatch(/^Bearer/);
      expect(await res.json()).toMatchObject({
        error: { code: "unauthorized", message: expect.any(String) },
      });
    }
  });

  it("refuses a write without credentials and writes nothing", async () => {
    const res = await fx.api("/api/v1/apply", {
      method: "POST",
      body: REVIEWS_V1,
      type: "application/yaml",
      token: null,
    });
    expect(res.status).toBe(401);
    const list = await fx.api("/api/v1/resources");
    expect(await list.json()).toEqual({ items: [] });
  });

  it("refuses a non-Bearer scheme", async () => {
    const res = await fetch(`${fx.cp.adminUrl}/api/v1/resources`, {
      headers: { authorization: `Basic ${Buffer.from(`admin:${fx.cp.token}`).toString("base64")}` },
    });
    expect(res.status).toBe(401);
  });

  it("accepts the right token and serves the public JWKS (no private members)", async () => {
    const res = await fx.api("/api/v1/trust");
    expect(res.status).toBe(200);
    const jwks = (await res.json()) as { keys: Record<string, unknown>[] };
    expect(jwks.keys.length).toBeGreaterThan(0);
    for (const key of jwks.keys) expect(key).not.toHaveProperty("d");
  });
});
