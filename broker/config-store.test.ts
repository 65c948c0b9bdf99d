import type { NatsConnection } from "@nats-io/nats-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { useTestNats } from "../test/support/nats.ts";
import { openConfigStore } from "./config-store.ts";
import { connectNats } from "./nats-connection.ts";

const nats = useTestNats();
let nc: NatsConnection;
let bucketCount = 0;
const freshBucket = () => `t-store-${++bucketCount}`;
const ref = (name: string) => ({ kind: "VirtualService", namespace: "default", name });

beforeAll(async () => {
  nc = await connectNats(nats().url);
});
afterAll(async () => {
  await nc?.close();
});

describe("config store", () => {
  it("stores values under <kind>.<namespace>.<name> and returns their revisions", async () => {
    const store = await openConfigStore(nc, { bucket: freshBucket() });
    const r1 = await store.put(ref("reviews"), "v1");
    const r2 = await store.put({ kind: "Service", namespace: "prod", name: "reviews.v2" }, "s1");
    expect(r2).toBe(r1 + 1);
    expect(await store.get(ref("reviews"))).toEqual({
      key: "VirtualService.default.reviews",
      ref: ref("reviews"),
      revision: r1,
      value: "v1",
    });
    const dotted = await store.get({ kind: "Service", namespace: "prod", name: "reviews.v2" });
    expect(dotted?.key).toBe("Service.prod.reviews_v2");
    expect(dotted?.ref.name).toBe("reviews.v2");
    expect(await store.get(ref("missing"))).toBeUndefined();
  });

  it("lists the current value of every key and skips deleted keys", async () => {
    const store = await openConfigStore(nc, { bucket: freshBucket() });
    await store.put(ref("a"), "a1");
    await store.put(ref("b"), "b1");
    await store.put(ref("a"), "a2");
    await store.put(ref("c"), "c1");
    const deletedAt = await store.delete(ref("c"));
    const listed = await store.list();
    expect(listed.map((e) => [e.ref.name, e.value]).sort()).toEqual([
      ["a", "a2"],
      ["b", "b1"],
    ]);
    expect(await store.get(ref("c"))).toBeUndefined();
    const snapshot = await store.snapshot();
    expect(snapshot.revision).toBe(deletedAt);
    expect(snapshot.deleted).toEqual([
      { key: "VirtualService.default.c", ref: ref("c"), revision: deletedAt },
    ]);
  });

  it("lists nothing for an empty bucket", async () => {
    const store = await openConfigStore(nc, { bucket: freshBucket() });
    expect(await store.list()).toEqual([]);
    expect((await store.snapshot()).revision).toBe(0);
  });

  it("returns a delete marker's revision, one past the write before it", async () => {
    const store = await openConfigStore(nc, { bucket: freshBucket() });
    const put = await store.put(ref("a"), "a1");
    expect(await store.delete(ref("a"))).toBe(put + 1);
    expect(await store.put(ref("a"), "a2")).toBe(put + 2);
    expect((await store.get(ref("a")))?.value).toBe("a2");
  });

  it("keeps the history of a key, oldest first, deletes included", async () => {
    const store = await openConfigStore(nc, { bucket: freshBucket() });
    const r1 = await store.put(ref("a"), "a1");
    await store.put(ref("other"), "x");
    const r2 = await store.put(ref("a"), "a2");
    const r3 = await store.delete(ref("a"));
    const history = await store.history(ref("a"));
    expect(history.map(({ revision, operation, value }) => ({ revision, operation, value }))).toEqual([
      { revision: r1, operation: "PUT", value: "a1" },
      { revision: r2, operation: "PUT", value: "a2" },
      { revision: r3, operation: "DEL", value: undefined },
    ]);
    expect(history[0]?.created).toBeInstanceOf(Date);
    expect(await store.history(ref("never-written"))).toEqual([]);
  });

  it("keeps at most `history` writes per key", async () => {
    const store = await openConfigStore(nc, { bucket: freshBucket(), history: 3 });
    for (let i = 1; i <= 5; i++) await store.put(ref("a"), `a${i}`);
    expect((await store.history(ref("a"))).map((h) => h.value)).toEqual(["a3", "a4", "a5"]);
  });

  it("opens an existing bucket with its data", async () => {
    const bucket = freshBucket();
    const first = await openConfigStore(nc, { bucket });
    await first.put(ref("a"), "a1");
    const again = await openConfigStore(nc, { bucket });
    expect((await again.get(ref("a")))?.value).toBe("a1");
  });

  it("lists many keys completely", async () => {
    const store = await openConfigStore(nc, { bucket: freshBucket() });
    await Promise.all(Array.from({ length: 300 }, (_, i) => store.put(ref(`r${i}`), `v${i}`)));
    const listed = await store.list();
    expect(listed).toHaveLength(300);
    expect((await store.snapshot()).revision).toBe(300);
  });
});
