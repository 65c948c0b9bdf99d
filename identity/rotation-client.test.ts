import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { NatsConnection } from "@nats-io/nats-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createSigner, generateSigningKey } from "../broker/envelope.ts";
import { connectNats } from "../broker/nats-connection.ts";
import { useTestNats } from "../test/support/nats.ts";
import { waitFor } from "../test/support/wait-for.ts";
import type { CsrReply } from "./csr-wire.ts";
import { type IdentityService, startIdentityService } from "./identity-service.ts";
import { createJoinToken } from "./join-token.ts";
import { startRotationClient, type WorkloadCredentials } from "./rotation-client.ts";
import { verifyWorkloadCertificate } from "./verify-workload-certificate.ts";
import { startWorkloadIdentity } from "./workload-identity.ts";

const spiffeId = "spiffe://cluster.local/ns/default/sa/reviews";

describe("rotation client (scripted CA)", () => {
  it("keeps the old certificate while the CA fails, backing off, then swaps in the new one", async () => {
    let now = 1_000_000;
    const timers: { at: number; fn: () => void }[] = [];
    const outcomes: ("ok" | "down")[] = ["ok", "down", "down", "down", "ok"];
    const asked: number[] = [];
    let serial = 0;
    const fetch = async (): Promise<CsrReply> => {
      asked.push(now);
      if (outcomes.shift() === "down")
        return { v: 1, ok: false, code: "ca-unavailable", message: "no responders" };
      serial++;
      return {
        v: 1,
        ok: true,
        spiffeId,
        certChainPem: `cert-${serial}`,
        rootsPem: "roots",
        serial: String(serial),
        notBefore: new Date(now).toISOString(),
        notAfter: new Date(now + 100_000).toISOString(),
      };
    };
    const rotated: WorkloadCredentials[] = [];
    const client = startRotationClient({
      spiffeId,
      fetch,
      crypto,
      clock: () => now,
      random: () => 0.5,
      retryInitialMs: 1_000,
      timers: { setTimeout: (fn, ms) => timers.push({ at: now + ms, fn }), clearTimeout: () => {} },
      onRotate: (creds) => rotated.push(creds),
    });
    const first = await client.ready;
    expect(first.serial).toBe("1");
    const fire = async () => {
      await waitFor(() => timers.length > 0, { what: "a scheduled attempt" });
      const next = timers.shift()!;
      now = next.at;
      next.fn();
      await waitFor(() => timers.length > 0, { what: "the attempt to settle" });
    };
    await fire(); // renewal at 50% of 100 s → CA down
    expect(asked[1]! - asked[0]!).toBe(50_000);
    expect(client.current?.serial).toBe("1");
    await fire();
    await fire();
    await fire(); // fourth attempt succeeds
    await waitFor(() => client.current?.serial === "2", { what: "rotation" });
    const gaps = asked.slice(1).map((t, i) => t - asked[i]!);
    expect(gaps).toEqual([50_000, 1_000, 2_000, 4_000]); // backoff doubles (jitter neutral at random 0.5)
    expect(client.stats).toMatchObject({ rotations: 1, failures: 3 });
    expect(rotated.map((c) => c.serial)).toEqual(["2"]);
    expect(rotated[0]!.keyPem).not.toBe(first.keyPem);
    client.stop();
  });

  it("spreads renewals with jitter around half of the lifetime", async () => {
    const scheduled: number[] = [];
    for (const r of [0, 1]) {
      const client = startRotationClient({
        spiffeId,
        crypto,
        clock: () => 0,
        random: () => r,
        fetch: async () => ({
          v: 1,
          ok: true,
          spiffeId,
          certChainPem: "c",
          rootsPem: "r",
          serial: "1",
          notBefore: new Date(0).toISOString(),
          notAfter: new Date(1_000_000).toISOString(),
        }),
        timers: { setTimeout: (_fn, ms) => scheduled.push(ms), clearTimeout: () => {} },
      });
      await client.ready;
      await waitFor(() => scheduled.length === r + 1, { what: "renewal scheduled" });
      client.stop();
    }
    expect(scheduled).toEqual([450_000, 550_000]);
  });
});

describe("rotation over the bus", () => {
  const server = useTestNats();
  let home: string;
  let nc: NatsConnection;
  let identity: IdentityService;
  let token: string;
  let trustJwks: { keys: object[] };
  let signerJwk: object;

  beforeAll(async () => {
    home = await mkdtemp(join(tmpdir(), "jibe-rotation-"));
    nc = await connectNats(server().url);
    const { privateJwk, publicJwks } = await generateSigningKey();
    trustJwks = publicJwks;
    signerJwk = privateJwk;
    const signer = await createSigner(privateJwk);
    identity = await startIdentityService({ nc, home, signer, trustJwks: publicJwks, defaultTtlMs: 2_000 });
    token = await createJoinToken(
      signer,
      { trustDomain: "cluster.local", namespace: "default", serviceAccount: "reviews" },
      { now: Date.now() },
    );
  });
  afterAll(async () => {
    await identity?.stop();
    await nc?.close();
    await rm(home, { recursive: true, force: true });
  });

  it("rotates several times with a 2 s mesh TTL, always holding a valid certificate", async () => {
    const workload = await startWorkloadIdentity({
      nc,
      id: { trustDomain: "cluster.local", namespace: "default", serviceAccount: "reviews" },
      credential: { type: "join-token", token },
      crypto,
    });
    const serials = [(await workload.client.ready).serial];
    workload.client.onRotate((creds) => serials.push(creds.serial));
    const deadline = Date.now() + 8_000;
    while (serials.length < 4 && Date.now() < deadline) {
      const current = workload.client.current!;
      const check = await verifyWorkloadCertificate({
        chainPem: current.certChainPem,
        rootsPem: current.rootsPem,
        trustDomain: "cluster.local",
        now: Date.now(),
        crypto,
      });
      expect(check.ok).toBe(true);
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
    workload.stop();
    expect(serials.length).toBeGreaterThanOrEqual(4);
    expect(new Set(serials).size).toBe(serials.length);
  });

  it("retries while the CA is down and recovers when it is back", async () => {
    const workload = await startWorkloadIdentity({
      nc,
      id: { trustDomain: "cluster.local", namespace: "default", serviceAccount: "reviews" },
      credential: { type: "join-token", token },
      crypto,
      retryInitialMs: 100,
      retryMaxMs: 400,
      requestTimeoutMs: 300,
    });
    const first = await workload.client.ready;
    await identity.stop(); // no CA listens any more
    await waitFor(() => workload.client.stats.failures >= 3, { what: "failed renewals", timeoutMs: 10_000 });
    expect(workload.client.current?.serial).toBe(first.serial); // the old one keeps serving
    expect(workload.client.stats.lastError).toMatch(/ca-unavailable/);
    identity = await startIdentityService({
      nc,
      home,
      signer: await createSigner(signerJwk as never),
      trustJwks: trustJwks as never,
      defaultTtlMs: 2_000,
    });
    await waitFor(() => workload.client.current?.serial !== first.serial, {
      what: "renewal after the CA is back",
      timeoutMs: 10_000,
    });
    workload.stop();
  });
});
