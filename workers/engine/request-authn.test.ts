import { expect, it } from "vitest";
import { defineRequestAuthnSuite } from "./request-authn.case.ts";

// The shared request-authentication suite in Node; request-authn.worker.test.ts runs it in workerd.
defineRequestAuthnSuite();

// The claim "same decisions in both runtimes" holds only if this file really runs in Node.
it("runs in Node, not workerd", () => {
  expect(navigator.userAgent).toMatch(/^Node\.js\//);
});
