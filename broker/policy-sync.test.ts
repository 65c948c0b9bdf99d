import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { NatsConnection } from "@nats-io/nats-core";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { createMeshWriter, type MeshWriter, virtualService } from "../test/support/mesh-writer.ts";
import { startTestNats, useTestNats } from "../test/support/nats.ts";
import { waitFor } from "../test/support/wait-for.ts";
import {
  createSigner,
  createVerifier,
  generateSigningKey,
  type Signer,
  signEvent,
  signStoredResource,
  type Verifier,
} from "./envelope.ts";
import type { MeshEvent, ResourceRef, StoredResource } from "./events.ts";
import { connectNats } from "./nats-connection.ts";
import { type PolicyState, type PolicySync, startPolicySync } from "./policy-sync.ts";
import { resourceKey, subjectFor } from "./subjects.ts";

const nats = useTestNats();
let writerNc: NatsConnection;
let proxyNc: NatsConnection;
let signer: Signer;
let verifier: Verifier;
let bucketCount = 0;
const running: PolicySync[] = [];

const ref = (name: string): ResourceRef => ({ kind: "VirtualService", namespace: "default", name });
const key = (name: string) => resourceKey(ref(name));

beforeAll(async () => {
  writerNc = await connectNats(nats().url);
  proxyNc = await connectNats(nats().url);
  const { privateJwk, publicJwks } = await generateSigningKey();
  signer = await createSigner(privateJwk);
  verifier = await createVerifier(publicJwks);
});
afterEach(async () => {
  for (const sync of running.splice(0)) await sync.stop();
});
afterAll(async () => {
  await writerNc?.close();
  await proxyNc?.close();
});

async function setup(): Promise<{ bucket: string; writer: MeshWriter }> {
  const bucket = `t-sync-${++bucketCount}`;
  return { bucket, writer: await createMeshWriter(writerNc, signer, { bucket }) };
}

async function follow(bucket: string, nc = proxyNc) {
  const changes: PolicyState[] = [];
  const sync = await startPolicySync({ nc, verifier, bucket, onChange: (state) => changes.push(state) });
  running.push(sync);
  return { sync, changes };
}

/** The resources a proxy should end up with: the store's current values. */
async function expectedResources(writer: MeshWriter): Promise<Map<string, StoredResource>> {
  const expected = new Map<string, StoredResource>();
  for (const entry of await writer.store.list()) {
    expected.set(
      entry.key,
      JSON.parse(Buffer.from(entry.value.split(".")[1]!, "base64url").toString()).resource,
    );
  }
  return expected;
}

describe("policy sync", () => {
  it("starting after several applies, gets the latest state from the store", async () => {
    const { bucket, writer } = await setup();
    await writer.apply(virtualService("a", "default", "a-v1"));
    await writer.apply(virtualService("b"));
    await writer.apply(virtualService("c"));
    await writer.apply(virtualService("a", "default", "a-v2"));
    const last = await writer.remove(ref("b"));

    const { sync, changes } = await follow(bucket);
    expect(changes).toHaveLength(1);
    expect(changes[0]).toMatchObject({ reason: "initial", revision: last });
    expect([...changes[0]!.changed].sort()).toEqual([key("a"), key("c")]);
    expect(sync.state.resources).toEqual(await expectedResources(writer));
    expect(sync.state.resources.get(key("a"))).toEqual(virtualService("a", "default", "a-v2"));
  });

  it("applies live events in order and reports the changed key", async () => {
    const { bucket, writer } = await setup();
    const { sync, changes } = await follow(bucket);
    expect(changes[0]).toMatchObject({ reason: "initial", revision: 0 });

    const r1 = await writer.apply(virtualService("x"));
    await waitFor(() => sync.state.revision === r1, { what: "x applied" });
    expect(changes.at(-1)).toMatchObject({ reason: "event", revision: r1, changed: new Set([key("x")]) });
    expect(sync.state.resources.get(key("x"))).toEqual(virtualService("x"));

    const r2 = await writer.remove(ref("x"));
    await waitFor(() => sync.state.revision === r2, { what: "x deleted" });
    expect(sync.state.resources.has(key("x"))).toBe(false);
    expect(changes.at(-1)?.changed).toEqual(new Set([key("x")]));
    expect(sync.stats.accepted).toBe(2);
    // Earlier states are left as they were handed over.
    expect(changes[1]?.resources.has(key("x"))).toBe(true);
  });

  it("never applies forged, foreign, unsigned, replayed or expired events, and keeps the last good state", async () => {
    const { bucket, writer } = await setup();
    const good = virtualService("reviews", "default", "reviews-v1");
    const r1 = await writer.apply(good);
    const { sync, changes } = await follow(bucket);

    const evil: MeshEvent = {
      type: "resource.applied",
      ref: ref("reviews"),
      revision: r1 + 1,
      resource: virtualService("reviews", "default", "evil.example.com"),
    };
    const subject = subjectFor(evil);
    const stranger = await createSigner((await generateSigningKey()).privateJwk);
    const [header, , signature] = (await signEvent(signer, { ...evil, resource: good }, Date.now())).split(
      ".",
    );
    const tampered = Buffer.from(JSON.stringify({ v: 1, id: "t", iat: Date.now(), event: evil })).toString(
      "base64url",
    );
    proxyNc.publish(subject, `${header}.${tampered}.${signature}`);
    proxyNc.publish(subject, await signEvent(stranger, evil, Date.now()));
    proxyNc.publish(subject, JSON.stringify({ v: 1, id: "u", iat: Date.now(), event: evil }));
    proxyNc.publish(subject, await signEvent(signer, evil, Date.now() - 6 * 60_000));
    proxyNc.publish(subject, "\u0000not even text");
    await proxyNc.flush();

    // A real change, then the very same message again.
    const replayable = await signEvent(signer, { ...evil, resource: good }, Date.now());
    await writer.store.put(ref("reviews"), await signStoredResource(signer, good, Date.now()));
    proxyNc.publish(subject, replayable);
    proxyNc.publish(subject, replayable);
    const barrier = await writer.apply(virtualService("barrier"));
    await waitFor(() => sync.state.revision === barrier, { what: "the barrier event" });

    expect(sync.stats.rejected).toMatchObject({
      "bad-signature": 1,
      "unknown-key": 1,
      unsigned: 1,
      expired: 1,
      malformed: 1,
      replayed: 1,
    });
    expect(sync.stats.accepted).toBe(2);
    expect(changes.map((c) => c.reason)).toEqual(["initial", "event", "event"]);
    for (const state of changes) {
      expect(state.resources.get(key("reviews"))).toEqual(good);
    }
  });

  it("drops events at or below the revision it already has for that key as stale", async () => {
    const { bucket, writer } = await setup();
    const r1 = await writer.apply(virtualService("a", "default", "a-v1"));
    const r2 = await writer.apply(virtualService("a", "default", "a-v2"));
    const { sync, changes } = await follow(bucket);

    // Validly signed and fresh, but older than what the proxy has: e.g. a delayed duplicate.
    const old: MeshEvent = {
      type: "resource.applied",
      ref: ref("a"),
      revision: r1,
      resource: virtualService("a", "default", "a-v1"),
    };
    await writer.publisher.publish(old);
    await writer.publisher.publish({ type: "resource.deleted", ref: ref("a"), revision: r2 });
    await waitFor(() => sync.stats.rejected.stale === 2, { what: "two stale events" });
    expect(changes).toHaveLength(1);
    expect(sync.state.resources.get(key("a"))).toEqual(virtualService("a", "default", "a-v2"));
  });

  it("never applies store values that fail verification, and keeps a key's last good value", async () => {
    const { bucket, writer } = await setup();
    const stranger = await createSigner((await generateSigningKey()).privateJwk);
    await writer.apply(virtualService("good"));
    await writer.store.put(
      ref("foreign"),
      await signStoredResource(stranger, virtualService("foreign"), Date.now()),
    );
    await writer.store.put(ref("garbage"), "not a jws");
    await writer.store.put(
      ref("moved"),
      await signStoredResource(signer, virtualService("elsewhere"), Date.now()),
    );

    const { sync } = await follow(bucket);
    expect([...sync.state.resources.keys()]).toEqual([key("good")]);
    expect(sync.stats.rejected).toMatchObject({ "unknown-key": 1, malformed: 2 });

    // The store is tampered with behind the proxy's back; a resync must not take "good" away.
    await writer.store.put(
      ref("good"),
      await signStoredResource(stranger, virtualService("good", "x", "evil"), Date.now()),
    );
    await sync.resync();
    expect(sync.state.resources.get(key("good"))).toEqual(virtualService("good"));
    expect(sync.stats.rejected["unknown-key"]).toBe(3);
  });

  it("resyncs from the store when an event reveals missed revisions", async () => {
    const { bucket, writer } = await setup();
    const { sync, changes } = await follow(bucket);
    // Written without an event (as if the event was lost), then a normal apply.
    const missed = virtualService("missed");
    await writer.store.put(ref("missed"), await signStoredResource(signer, missed, Date.now()));
    const last = await writer.apply(virtualService("next"));

    await waitFor(() => sync.state.revision === last, { what: "resync after the gap" });
    expect(sync.state.resources.get(key("missed"))).toEqual(missed);
    expect(sync.state.resources.has(key("next"))).toBe(true);
    expect(sync.stats.resyncs).toBe(1);
    expect(changes.at(-1)).toMatchObject({
      reason: "resync",
      changed: new Set([key("missed"), key("next")]),
    });
  });

  it("restarted while changes happen, comes back with the latest state", async () => {
    const { bucket, writer } = await setup();
    const first = await follow(bucket);
    const names = ["a", "b", "c", "d", "e"];
    let stop = false;
    const churn = (async () => {
      for (let i = 0; !stop; i++) {
        const name = names[i % names.length]!;
        if (i % 7 === 3) await writer.remove(ref(name));
        else await writer.apply(virtualService(name, "default", `${name}-${i}`));
      }
    })();

    const restarted: PolicySync[] = [];
    await first.sync.stop();
    for (let i = 0; i < 5; i++) {
      await new Promise((resolve) => setTimeout(resolve, 20));
      restarted.push((await follow(bucket)).sync);
    }
    await new Promise((resolve) => setTimeout(resolve, 50));
    stop = true;
    await churn;

    const expected = await expectedResources(writer);
    const finalRevision = (await writer.store.snapshot()).revision;
    for (const sync of restarted) {
      await waitFor(() => sync.state.revision === finalRevision, { what: "a restarted sync converges" });
      expect(sync.state.resources).toEqual(expected);
      expect(sync.stats.rejected.malformed + sync.stats.rejected["bad-signature"]).toBe(0);
    }
  });
});

describe("policy sync across a nats-server restart", () => {
  it("keeps its state while the server is down and catches up after it returns", async () => {
    const storeDir = await mkdtemp(join(tmpdir(), "jibe-sync-restart-"));
    let server = await startTestNats({ storeDir });
    // Slow to reconnect, so the write below lands before the proxy is back: only a resync can catch it.
    const nc = await connectNats(server.url, { reconnectTimeWait: 1_000 });
    try {
      const writeNc = await connectNats(server.url);
      await (await createMeshWriter(writeNc, signer)).apply(virtualService("before"));
      await writeNc.close();
      const { sync } = await follow("jibe-resources", nc);

      await server.stop();
      const stateWhileDown = sync.state;
      const failed = await sync.resync().then(
        () => false,
        () => true,
      );
      expect(failed).toBe(true);
      expect(sync.state).toBe(stateWhileDown);
      expect(sync.state.resources.has(key("before"))).toBe(true);

      const { port } = new URL(server.url);
      const { port: wsPort } = new URL(server.wsUrl);
      server = await startTestNats({ storeDir, port: Number(port), wsPort: Number(wsPort) });
      const afterNc = await connectNats(server.url);
      const after = await createMeshWriter(afterNc, signer);
      const missed = await after.apply(virtualService("while-reconnecting"));
      expect(sync.state).toBe(stateWhileDown);

      await waitFor(() => sync.state.revision === missed, {
        what: "catch-up after the restart",
        timeoutMs: 20_000,
      });
      expect(sync.stats.resyncs).toBeGreaterThanOrEqual(1);
      expect(sync.state.resources.has(key("while-reconnecting"))).toBe(true);

      // And live events flow again.
      const live = await after.apply(virtualService("live"));
      await waitFor(() => sync.state.revision === live, { what: "a live event after the restart" });
      expect([...sync.state.resources.keys()].sort()).toEqual([
        key("before"),
        key("live"),
        key("while-reconnecting"),
      ]);
      await afterNc.close();
    } finally {
      await nc.close();
      await server.stop();
      await rm(storeDir, { recursive: true, force: true });
    }
  });
});
