import { describe, expect, it } from "vitest";
import type { MeshEvent } from "../../broker/events.ts";
import { silentLogger } from "../../broker/logger.ts";
import { createEventOutbox } from "./event-outbox.ts";
import { createSerialQueue } from "./serial-queue.ts";

function deleted(revision: number): MeshEvent {
  return { type: "resource.deleted", ref: { kind: "Service", namespace: "default", name: "a" }, revision };
}

describe("createEventOutbox", () => {
  it("holds an event the bus refused and sends it before anything newer", async () => {
    const sent: number[] = [];
    let down = true;
    const outbox = createEventOutbox(
      {
        async publish(event) {
          if (down) throw new Error("bus down");
          sent.push(event.revision);
        },
      },
      silentLogger,
    );
    expect(await outbox.send(deleted(1))).toBe(false);
    expect(await outbox.send(deleted(2))).toBe(false);
    expect(outbox.pending).toBe(2);
    down = false;
    expect(await outbox.send(deleted(3))).toBe(true);
    expect(sent).toEqual([1, 2, 3]);
    expect(outbox.pending).toBe(0);
  });
});

describe("createSerialQueue", () => {
  it("runs tasks one at a time in order, and a failure does not stall the rest", async () => {
    const queue = createSerialQueue();
    const log: string[] = [];
    const task = (name: string, ms: number, fail = false) =>
      queue.run(async () => {
        log.push(`start ${name}`);
        await new Promise((r) => setTimeout(r, ms));
        log.push(`end ${name}`);
        if (fail) throw new Error(name);
        return name;
      });
    const results = await Promise.allSettled([task("a", 20), task("b", 1, true), task("c", 1)]);
    expect(log).toEqual(["start a", "end a", "start b", "end b", "start c", "end c"]);
    expect(results.map((r) => r.status)).toEqual(["fulfilled", "rejected", "fulfilled"]);
  });
});
