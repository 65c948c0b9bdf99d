import { describe, expect, it } from "vitest";
import { createReplayGuard } from "./replay-guard.ts";

function manualClock(start = 1_700_000_000_000) {
  let now = start;
  return { now: () => now, advance: (ms: number) => (now += ms) };
}

describe("replay guard", () => {
  it("accepts an envelope once and drops it as replayed after", () => {
    const clock = manualClock();
    const guard = createReplayGuard({ clock: clock.now });
    expect(guard.check("a", clock.now())).toBeUndefined();
    expect(guard.check("a", clock.now())).toBe("replayed");
    expect(guard.check("b", clock.now())).toBeUndefined();
  });

  it("drops envelopes older than maxAge and further in the future than maxSkew", () => {
    const clock = manualClock();
    const guard = createReplayGuard({ maxAgeMs: 300_000, maxSkewMs: 30_000, clock: clock.now });
    expect(guard.check("old", clock.now() - 300_001)).toBe("expired");
    expect(guard.check("edge", clock.now() - 300_000)).toBeUndefined();
    expect(guard.check("future", clock.now() + 30_001)).toBe("expired");
    expect(guard.check("skewed", clock.now() + 30_000)).toBeUndefined();
  });

  it("keeps rejecting a replay for as long as the original is within the window", () => {
    const clock = manualClock();
    const guard = createReplayGuard({ maxAgeMs: 1_000, clock: clock.now });
    const iat = clock.now();
    guard.check("a", iat);
    clock.advance(999);
    expect(guard.check("a", iat)).toBe("replayed");
    clock.advance(2);
    expect(guard.check("a", iat)).toBe("expired");
  });

  it("forgets ids once they are too old to matter, so memory stays bounded", () => {
    const clock = manualClock();
    const guard = createReplayGuard({ maxAgeMs: 1_000, maxSkewMs: 0, clock: clock.now });
    for (let i = 0; i < 5_000; i++) {
      guard.check(`id-${i}`, clock.now());
      clock.advance(1);
    }
    expect(guard.size).toBeLessThanOrEqual(1_001);
    clock.advance(2_000);
    guard.check("last", clock.now());
    expect(guard.size).toBe(1);
  });

  it("forgets out-of-order stragglers too", () => {
    const clock = manualClock();
    const guard = createReplayGuard({ maxAgeMs: 1_000, maxSkewMs: 1_000, clock: clock.now });
    guard.check("future", clock.now() + 1_000); // stays at the front of the arrival order
    for (let i = 0; i < 10_000; i++) {
      guard.check(`id-${i}`, clock.now());
      clock.advance(1);
    }
    expect(guard.size).toBeLessThan(3_000);
  });
});
