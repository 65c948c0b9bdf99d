import type { NatsConnection } from "@nats-io/nats-core";
import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { type ConfigStore, openConfigStore } from "../../broker/config-store.ts";
import {
  createSigner,
  createVerifier,
  generateSigningKey,
  type Signer,
  type Verifier,
} from "../../broker/envelope.ts";
import { createEventPublisher } from "../../broker/event-publisher.ts";
import { subscribeEvents } from "../../broker/event-subscriber.ts";
import type { MeshEvent, ResourceRef } from "../../broker/events.ts";
import { silentLogger } from "../../broker/logger.ts";
import { connectNats } from "../../broker/nats-connection.ts";
import { useTestNats } from "../../test/support/nats.ts";
import { waitFor } from "../../test/support/wait-for.ts";
import {
  ONE_BAD_OF_THREE,
  RATINGS_SERVICE,
  REVIEWS_RULE,
  REVIEWS_V1,
  REVIEWS_V3,
} from "../admin/test-fixture.ts";
import { parseDocuments } from "../model/parse.ts";
import { createControlPlane } from "./control-plane.ts";
import { PlaneError } from "./errors.ts";
import type { ControlPlane } from "./types.ts";

const server = useTestNats();
const reviews: ResourceRef = { kind: "VirtualService", namespace: "default", name: "reviews" };
let nc: NatsConnection;
let signer: Signer;
let verifier: Verifier;
let events: MeshEvent[];
let bucket = 0;

function docs(text: string): unknown[] {
  return parseDocuments(text).documents;
}

/** A plane over its own bucket, so every test starts empty. */
async function freshPlane(
  wrap: (store: ConfigStore) => ConfigStore = (s) => s,
): Promise<{ plane: ControlPlane; store: ConfigStore }> {
  const store = await openConfigStore(nc, { bucket: `plane-test-${++bucket}` });
  const plane = createControlPlane({
    store: wrap(store),
    publisher: createEventPublisher(nc, signer),
    signer,
    verifier,
    log: silentLogger,
  });
  return { plane, store };
}

beforeAll(async () => {
  nc = await connectNats(server().url);
  const key = await generateSigningKey();
  signer = await createSigner(key.privateJwk);
  verifier = await createVerifier(key.publicJwks);
  subscribeEvents(nc, verifier, { onEvent: (e) => events.push(e) });
  await nc.flush();
});
afterAll(() => nc?.close());
beforeEach(() => {
  events = [];
});

describe("control plane apply", () => {
  it("creates, then reports an identical re-apply as unchanged without writing or publishing", async () => {
    const { plane } = await freshPlane();
    const first = await plane.apply(docs(REVIEWS_V1));
    expect(first.results).toMatchObject([{ ref: reviews, action: "created", generation: 1 }]);
    await waitFor(() => events.length === 1);

    const again = await plane.apply(docs(REVIEWS_V1));
    expect(again.results).toMatchObject([{ action: "unchanged", revision: first.results[0]!.revision }]);
    await plane.apply(docs(RATINGS_SERVICE)); // a marker: the next event after the unchanged apply
    await waitFor(() => events.length === 2);
    expect(events.map((e) => e.ref.name)).toEqual(["reviews", "ratings"]);
  });

  it("bumps generation on a spec change, keeps creationTimestamp, and the event carries the stored revision", async () => {
    const { plane } = await freshPlane();
    await plane.apply(docs(REVIEWS_V1));
    const created = (await plane.get(reviews)).resource.metadata.creationTimestamp;
    const changed = await plane.apply(docs(REVIEWS_V3));
    expect(changed.results).toMatchObject([{ action: "configured", generation: 2 }]);
    const view = await plane.get(reviews);
    expect(view.resource.metadata).toMatchObject({ generation: 2, creationTimestamp: created });
    expect(view.revision).toBe(changed.results[0]!.revision);
    await waitFor(() => events.length === 2);
    expect(events[1]).toMatchObject({ type: "resource.applied", revision: view.revision });
  });

  it("applies nothing from a multi-document input when one document is invalid", async () => {
    const { plane } = await freshPlane();
    const error = await plane.apply(docs(ONE_BAD_OF_THREE)).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(PlaneError);
    expect((error as PlaneError).code).toBe("invalid");
    expect((error as PlaneError).diagnostics).toContainEqual(
      expect.objectContaining({ resource: "VirtualService/default/ratings", path: "spec.hosts" }),
    );
    expect(await plane.list()).toEqual([]);
  });

  it("publishes events in revision order across concurrent applies", async () => {
    const { plane } = await freshPlane();
    const outcomes = await Promise.all([
      plane.apply(docs(REVIEWS_RULE)),
      plane.apply(docs(RATINGS_SERVICE)),
      plane.apply(docs(REVIEWS_V1)),
    ]);
    await waitFor(() => events.length === 3);
    const revisions = events.map((e) => e.revision);
    expect(revisions).toEqual([...revisions].sort((a, b) => a - b));
    expect(new Set(revisions)).toEqual(new Set(outcomes.flatMap((o) => o.results.map((r) => r.revision))));
  });

  it("plans a dry run without writing", async () => {
    const { plane } = await freshPlane();
    const outcome = await plane.apply(docs(REVIEWS_V1), { dryRun: true });
    expect(outcome).toMatchObject({ dryRun: true, results: [{ action: "created", revision: 0 }] });
    expect(await plane.list()).toEqual([]);
  });

  it("reports exactly what was written when the store fails mid-way", async () => {
    let puts = 0;
    const { plane } = await freshPlane((store) => ({
      ...store,
      put: (ref, value) => (++puts === 2 ? Promise.reject(new Error("store down")) : store.put(ref, value)),
    }));
    const error = (await plane
      .apply(docs(`${REVIEWS_RULE}---\n${RATINGS_SERVICE}---\n${REVIEWS_V1}`))
      .catch((e: unknown) => e)) as PlaneError;
    expect(error.code).toBe("partially-applied");
    expect(error.results).toMatchObject([
      { ref: { kind: "DestinationRule", name: "reviews" }, action: "created" },
    ]);
    expect(error.message).toMatch(
      /Service\/bookinfo\/ratings failed.*not applied: VirtualService\/default\/reviews/,
    );
    expect((await plane.list()).map((v) => v.ref.kind)).toEqual(["DestinationRule"]);
  });
});

describe("control plane delete, list, history", () => {
  it("deletes with an event carrying the delete marker's revision; a second delete is not-found", async () => {
    const { plane } = await freshPlane();
    await plane.apply(docs(REVIEWS_V1));
    const deleted = await plane.delete(reviews);
    expect(deleted).toMatchObject({ ref: reviews, action: "deleted", apiVersion: "networking.istio.io/v1" });
    await waitFor(() => events.length === 2);
    expect(events[1]).toEqual({ type: "resource.deleted", ref: reviews, revision: deleted.revision });
    await expect(plane.delete(reviews)).rejects.toMatchObject({ code: "not-found" });
    await expect(plane.get(reviews)).rejects.toMatchObject({ code: "not-found" });
  });

  it("lists with kind and namespace filters", async () => {
    const { plane } = await freshPlane();
    await plane.apply(docs(`${REVIEWS_RULE}---\n${RATINGS_SERVICE}---\n${REVIEWS_V1}`));
    expect((await plane.list()).length).toBe(3);
    expect((await plane.list({ kind: "VirtualService" })).map((v) => v.ref.name)).toEqual(["reviews"]);
    expect((await plane.list({ namespace: "bookinfo" })).map((v) => v.ref.kind)).toEqual(["Service"]);
  });

  it("keeps history of every write, with the resource as it was", async () => {
    const { plane } = await freshPlane();
    await plane.apply(docs(REVIEWS_V1));
    await plane.apply(docs(REVIEWS_V3));
    await plane.delete(reviews);
    const history = await plane.history(reviews);
    expect(history.map((h) => h.operation)).toEqual(["PUT", "PUT", "DEL"]);
    expect(history.map((h) => h.resource?.metadata.generation)).toEqual([1, 2, undefined]);
    await expect(plane.history({ ...reviews, name: "nope" })).rejects.toMatchObject({ code: "not-found" });
  });

  it("refuses to serve a stored value that is not signed by a trusted key", async () => {
    const { plane, store } = await freshPlane();
    await store.put(reviews, JSON.stringify({ v: 1, resource: {} }));
    await expect(plane.get(reviews)).rejects.toMatchObject({ code: "untrusted" });
    expect(await plane.list()).toEqual([]);
  });
});
