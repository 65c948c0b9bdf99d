import { expect, it } from "vitest";
import { defineEngineSuite } from "./engine.case.ts";

// The shared engine suite in Node (the sidecar's runtime); engine.worker.test.ts runs it in workerd.
defineEngineSuite();

// The claim "same decisions in both runtimes" holds only if this file really runs in Node.
it("runs in Node, not workerd", () => {
  expect(navigator.userAgent).toMatch(/^Node\.js\//);
});
