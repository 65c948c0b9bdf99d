import { existsSync } from "node:fs";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Kvm } from "@nats-io/kv";
import { wsconnect } from "@nats-io/nats-core";
import { describe, expect, it } from "vitest";
import { connectNats } from "./nats-connection.ts";
import {
  findNatsServer,
  NATS_SERVER_NOT_FOUND,
  resolveNatsServer,
  startNatsServer,
} from "./nats-launcher.ts";

function isRunning(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

describe("nats launcher", () => {
  it("starts a server that speaks NATS, JetStream and WebSocket, and stops it cleanly", async () => {
    const server = await startNatsServer();
    expect(server.url).toMatch(/^nats:\/\/127\.0\.0\.1:\d+$/);
    expect(server.wsUrl).toMatch(/^ws:\/\/127\.0\.0\.1:\d+$/);
    const nc = await connectNats(server.url);
    const kv = await new Kvm(nc).create("launcher-check");
    await kv.put("k", "v");
    const ws = await wsconnect({ servers: server.wsUrl });
    expect((await new Kvm(ws).open("launcher-check").then((b) => b.get("k")))?.string()).toBe("v");
    await ws.close();
    await nc.close();

    await server.stop();
    expect(isRunning(server.pid)).toBe(false);
    expect(existsSync(server.storeDir)).toBe(false); // its own temp dir is gone
    await server.stop(); // idempotent
  });

  it("restarts on the same ports with the same store", async () => {
    const storeDir = await mkdtemp(join(tmpdir(), "jibe-launcher-test-"));
    try {
      const first = await startNatsServer({ storeDir });
      const nc = await connectNats(first.url);
      await (await new Kvm(nc).create("persist")).put("k", "kept");
      await nc.close();
      await first.stop();
      expect(existsSync(storeDir)).toBe(true); // a caller's store dir is never removed

      const { port } = new URL(first.url);
      const { port: wsPort } = new URL(first.wsUrl);
      const second = await startNatsServer({ storeDir, port: Number(port), wsPort: Number(wsPort) });
      expect([second.url, second.wsUrl]).toEqual([first.url, first.wsUrl]);
      const again = await connectNats(second.url);
      expect((await (await new Kvm(again).open("persist")).get("k"))?.string()).toBe("kept");
      await again.close();
      await second.stop();
    } finally {
      await rm(storeDir, { recursive: true, force: true });
    }
  });

  it("says how to get nats-server when there is none", async () => {
    expect(await findNatsServer({ PATH: "" }, [])).toBeUndefined();
    expect(await findNatsServer({ PATH: "/usr/sbin:/usr/bin:/sbin:/bin" })).toMatch(/nats-server$/);
    await expect(startNatsServer({ binary: "/nonexistent/nats-server" })).rejects.toMatchObject({
      code: "nats-server-not-found",
      user: true,
      message: expect.stringContaining(NATS_SERVER_NOT_FOUND),
    });
    expect(NATS_SERVER_NOT_FOUND).toContain("apt-get install -y nats-server");
    expect(NATS_SERVER_NOT_FOUND).toContain("JIBE_NATS_URL");
  });

  it("reports a server that cannot start, with its output", async () => {
    const blocker = await startNatsServer();
    try {
      const { port } = new URL(blocker.url);
      await expect(startNatsServer({ port: Number(port), readyTimeoutMs: 5_000 })).rejects.toMatchObject({
        code: "nats-server-failed",
      });
    } finally {
      await blocker.stop();
    }
  });

  it("uses JIBE_NATS_URL instead of launching", async () => {
    const bus = await resolveNatsServer({
      JIBE_NATS_URL: "nats://10.0.0.1:4222",
      JIBE_NATS_WS_URL: "ws://10.0.0.1:8080",
    });
    expect(bus).toMatchObject({ url: "nats://10.0.0.1:4222", wsUrl: "ws://10.0.0.1:8080", external: true });
    await bus.stop();
    const launched = await resolveNatsServer({});
    expect(launched.external).toBe(false);
    expect(launched.wsUrl).toMatch(/^ws:/);
    await launched.stop();
  });
});
