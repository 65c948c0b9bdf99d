import type { NatsConnection } from "@nats-io/nats-core";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { virtualService } from "../test/support/mesh-writer.ts";
import { useTestNats } from "../test/support/nats.ts";
import { waitFor } from "../test/support/wait-for.ts";
import {
  createSigner,
  createVerifier,
  generateSigningKey,
  type Signer,
  signEvent,
  type Verifier,
} from "./envelope.ts";
import { createEventPublisher } from "./event-publisher.ts";
import { type EventMeta, type EventSubscription, subscribeEvents } from "./event-subscriber.ts";
import type { MeshEvent } from "./events.ts";
import { connectNats } from "./nats-connection.ts";
import { subjectFor } from "./subjects.ts";

const nats = useTestNats();
let nc: NatsConnection;
let signer: Signer;
let verifier: Verifier;
const subscriptions: EventSubscription[] = [];

const ref = (name: string, kind = "VirtualService", namespace = "default") => ({ kind, namespace, name });
const applied = (name: string, revision: number): MeshEvent => ({
  type: "resource.applied",
  ref: ref(name),
  revision,
  resource: virtualService(name),
});

beforeAll(async () => {
  nc = await connectNats(nats().url);
  const { privateJwk, publicJwks } = await generateSigningKey();
  signer = await createSigner(privateJwk);
  verifier = await createVerifier(publicJwks);
});
afterEach(() => {
  for (const sub of subscriptions.splice(0)) sub.stop();
});
afterAll(async () => {
  await nc?.close();
});

function watch(filter?: Parameters<typeof subscribeEvents>[2]["filter"]) {
  const events: Array<{ event: MeshEvent; meta: EventMeta }> = [];
  const rejects: Array<{ reason: string; subject: string }> = [];
  const sub = subscribeEvents(nc, verifier, {
    ...(filter ? { filter } : {}),
    onEvent: (event, meta) => events.push({ event, meta }),
    onReject: (reason, _detail, subject) => rejects.push({ reason, subject }),
  });
  subscriptions.push(sub);
  return { events, rejects, sub };
}

describe("event publisher and subscriber", () => {
  it("delivers signed events in publish order with their envelope metadata", async () => {
    const { events } = watch();
    await nc.flush();
    const publisher = createEventPublisher(nc, signer, () => Date.now());
    const sent = Array.from({ length: 50 }, (_, i) => applied(`r${i}`, i + 1));
    await Promise.all(sent.map((e) => publisher.publish(e)));
    await waitFor(() => events.length === 50, { what: "50 events" });
    expect(events.map((e) => e.event)).toEqual(sent);
    expect(events[0]?.meta).toMatchObject({ subject: subjectFor(sent[0]!), kid: signer.kid });
  });

  it("narrows by type, kind and namespace", async () => {
    const byKind = watch({ kind: "Service" });
    const byNamespace = watch({ namespace: "prod" });
    const deletes = watch({ type: "resource.deleted" });
    await nc.flush();
    const publisher = createEventPublisher(nc, signer);
    await publisher.publish({ type: "resource.deleted", ref: ref("a", "Service", "default"), revision: 1 });
    await publisher.publish({
      type: "resource.deleted",
      ref: ref("b", "VirtualService", "prod"),
      revision: 2,
    });
    await publisher.publish(applied("c", 3));
    await waitFor(() => deletes.events.length === 2 && byKind.events.length && byNamespace.events.length, {
      what: "every filtered subscription",
    });
    await new Promise((resolve) => setTimeout(resolve, 50)); // room for a wrongly matched extra event
    expect(deletes.events.map((e) => e.event.ref.name)).toEqual(["a", "b"]);
    expect(byKind.events.map((e) => e.event.ref.name)).toEqual(["a"]);
    expect(byNamespace.events.map((e) => e.event.ref.name)).toEqual(["b"]);
  });

  it("drops forged, foreign-key, unsigned, replayed, expired and misrouted events, counting each", async () => {
    const { events, rejects, sub } = watch();
    await nc.flush();
    const good = applied("good", 1);
    const subject = subjectFor(good);
    const stranger = await createSigner((await generateSigningKey()).privateJwk);

    const valid = await signEvent(signer, good, Date.now());
    const [header, , signature] = valid.split(".");
    const altered = {
      v: 1,
      id: "forged",
      iat: Date.now(),
      event: { ...good, resource: virtualService("evil") },
    };
    nc.publish(
      subject,
      `${header}.${Buffer.from(JSON.stringify(altered)).toString("base64url")}.${signature}`,
    );
    nc.publish(subject, await signEvent(stranger, good, Date.now()));
    nc.publish(subject, JSON.stringify({ v: 1, id: "plain", iat: Date.now(), event: good }));
    nc.publish(subject, valid);
    nc.publish(subject, valid); // the replay
    nc.publish(subject, await signEvent(signer, good, Date.now() - 10 * 60_000));
    nc.publish(subject, await signEvent(signer, good, Date.now() + 10 * 60_000));
    nc.publish(subjectFor(applied("other", 1)), await signEvent(signer, good, Date.now()));
    await nc.flush();

    await waitFor(() => sub.stats.received === 8, { what: "8 messages" });
    expect(events).toHaveLength(1);
    expect(rejects.map((r) => r.reason)).toEqual([
      "bad-signature",
      "unknown-key",
      "unsigned",
      "replayed",
      "expired",
      "expired",
      "malformed",
    ]);
    expect(sub.stats).toMatchObject({
      received: 8,
      accepted: 1,
      rejected: { "bad-signature": 1, "unknown-key": 1, unsigned: 1, replayed: 1, expired: 2, malformed: 1 },
    });
  });

  it("keeps delivering after a handler throws", async () => {
    const seen: string[] = [];
    const sub = subscribeEvents(nc, verifier, {
      onEvent(event) {
        seen.push(event.ref.name);
        throw new Error("handler bug");
      },
    });
    subscriptions.push(sub);
    await nc.flush();
    const publisher = createEventPublisher(nc, signer);
    await publisher.publish(applied("one", 1));
    await publisher.publish(applied("two", 2));
    await waitFor(() => seen.length === 2, { what: "both events despite the throw" });
  });

  it("stops delivering after stop()", async () => {
    const { events, sub } = watch();
    await nc.flush();
    sub.stop();
    await sub.closed;
    await createEventPublisher(nc, signer).publish(applied("late", 1));
    await nc.flush();
    expect(events).toEqual([]);
  });
});
