import { expect, it } from "vitest";
import { defineEngineSuite } from "./engine.case.ts";

// The shared engine suite inside workerd (the edge worker's runtime): same cases, same decisions.
defineEngineSuite();

// The claim "same decisions in both runtimes" holds only if this file really runs in workerd.
it("runs in workerd", () => {
  expect(navigator.userAgent).toBe("Cloudflare-Workers");
});
