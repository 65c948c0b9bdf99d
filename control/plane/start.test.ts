import { mkdtemp, readFile, rm, stat } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { NatsConnection } from "@nats-io/nats-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { connectNats } from "../../broker/nats-connection.ts";
import { useTestNats } from "../../test/support/nats.ts";
import { startControlPlane } from "./start.ts";

const server = useTestNats();
let nc: NatsConnection;
let scratch: string;

beforeAll(async () => {
  nc = await connectNats(server().url);
  scratch = await mkdtemp(join(tmpdir(), "jibe-start-test-"));
});
afterAll(async () => {
  await nc?.close();
  if (scratch) await rm(scratch, { recursive: true, force: true });
});

describe("startControlPlane", () => {
  it("creates $JIBE_HOME (0700) with a 0600 admin token, writes admin-url, and keeps the token across restarts", async () => {
    const home = join(scratch, "home");
    const first = await startControlPlane({ nc, home, admin: { port: 0 } });
    try {
      expect((await stat(home)).mode & 0o777).toBe(0o700);
      const tokenFile = join(home, "admin-token");
      expect((await stat(tokenFile)).mode & 0o777).toBe(0o600);
      expect(first.token).toMatch(/^[A-Za-z0-9_-]{43}$/); // 32 bytes, base64url
      expect((await readFile(tokenFile, "utf8")).trim()).toBe(first.token);
      expect((await readFile(join(home, "admin-url"), "utf8")).trim()).toBe(first.adminUrl);
      expect(first.adminUrl).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
      expect((await fetch(`${first.adminUrl}/healthz`)).status).toBe(200);
    } finally {
      await first.stop();
    }
    await expect(stat(join(home, "admin-url"))).rejects.toMatchObject({ code: "ENOENT" });
    await expect(fetch(`${first.adminUrl}/healthz`)).rejects.toThrow();

    const second = await startControlPlane({ nc, home, admin: { port: 0 } });
    try {
      expect(second.token).toBe(first.token);
      expect(second.trustJwks).toEqual(first.trustJwks);
    } finally {
      await second.stop();
    }
  });

  it("says so when the admin port is taken", async () => {
    const one = await startControlPlane({ nc, home: join(scratch, "a"), admin: { port: 0 } });
    try {
      const port = Number(new URL(one.adminUrl).port);
      await expect(startControlPlane({ nc, home: join(scratch, "b"), admin: { port } })).rejects.toThrow(
        /already in use/,
      );
    } finally {
      await one.stop();
    }
  });
});
