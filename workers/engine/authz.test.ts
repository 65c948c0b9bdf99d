import { expect, it } from "vitest";
import { defineAuthzSuite } from "./authz.case.ts";
import { defineExtAuthzSuite } from "./ext-authz.case.ts";

// The shared authz suite in Node (the sidecar's runtime); authz.worker.test.ts runs it in workerd.
defineAuthzSuite();
defineExtAuthzSuite();

// The claim "same decisions in both runtimes" holds only if this file really runs in Node.
it("runs in Node, not workerd", () => {
  expect(navigator.userAgent).toMatch(/^Node\.js\//);
});
