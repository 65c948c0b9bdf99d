import { type ChildProcess, spawn } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { findNatsServer } from "../../../broker/nats-launcher.ts";
import { waitFor } from "../../../test/support/wait-for.ts";
import { natsConfig } from "./install-objects.ts";

const servers: ChildProcess[] = [];
const dir = mkdtempSync(join(tmpdir(), "jibe-nats-cluster-"));

afterAll(() => {
  for (const server of servers) server.kill();
  rmSync(dir, { recursive: true, force: true });
});

async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as { port: number };
  await new Promise((resolve) => server.close(resolve));
  return port;
}

/**
 * The StatefulSet's NATS configuration run for real: three nats-servers on this machine, each with the
 * generated file, only ports and the Pods' DNS names swapped for local ones (what Kubernetes DNS gives).
 */
async function startServers(replicas: number): Promise<number[]> {
  const binary = await findNatsServer();
  if (!binary) throw new Error("nats-server not found (apt install nats-server; .ci/run does)");
  const ports = await Promise.all(
    Array.from({ length: replicas }, async () => ({
      client: await freePort(),
      http: await freePort(),
      cluster: await freePort(),
    })),
  );
  let config = natsConfig(replicas);
  ports.forEach((p, i) => {
    config = config.replace(
      `nats://jibe-nats-${i}.jibe-nats.jibe-system.svc:6222`,
      `nats://127.0.0.1:${p.cluster}`,
    );
  });
  ports.forEach((p, i) => {
    const file = join(dir, `nats-${replicas}-${i}.conf`);
    writeFileSync(
      file,
      config
        .replace("port: 4222", `port: ${p.client}`)
        .replace("http_port: 8222", `http_port: ${p.http}`)
        .replace("  port: 6222", `  port: ${p.cluster}`)
        .replace("/data/jetstream", join(dir, `js-${replicas}-${i}`)),
    );
    servers.push(
      spawn(binary, ["-c", file], { env: { ...process.env, POD_NAME: `jibe-nats-${i}` }, stdio: "ignore" }),
    );
  });
  return ports.map((p) => p.http);
}

async function healthy(httpPort: number): Promise<boolean> {
  try {
    return (await fetch(`http://127.0.0.1:${httpPort}/healthz`)).status === 200;
  } catch {
    return false;
  }
}

describe("the generated NATS configuration", () => {
  it("forms a 3-server JetStream cluster that elects a meta leader (default profile)", async () => {
    const httpPorts = await startServers(3);
    await waitFor(async () => (await Promise.all(httpPorts.map(healthy))).every(Boolean), {
      timeoutMs: 20_000,
      intervalMs: 200,
      what: "every server healthy (JetStream meta leader known)",
    });
    const jsz = (await (await fetch(`http://127.0.0.1:${httpPorts[0]}/jsz`)).json()) as {
      meta_cluster?: { cluster_size?: number; leader?: string };
    };
    expect(jsz.meta_cluster?.cluster_size).toBe(3);
    expect(jsz.meta_cluster?.leader).toMatch(/^jibe-nats-[012]$/);
  });

  it("runs JetStream on a single server without a cluster block (demo, minimal)", async () => {
    expect(natsConfig(1)).not.toContain("cluster {");
    const [httpPort = 0] = await startServers(1);
    await waitFor(() => healthy(httpPort), { timeoutMs: 10_000, intervalMs: 100, what: "server healthy" });
  });
});
