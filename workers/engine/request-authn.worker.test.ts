import { expect, it } from "vitest";
import { defineRequestAuthnSuite } from "./request-authn.case.ts";

// The shared request-authentication suite inside workerd (the edge worker's runtime).
defineRequestAuthnSuite();

// The claim "same decisions in both runtimes" holds only if this file really runs in workerd.
it("runs in workerd", () => {
  expect(navigator.userAgent).toBe("Cloudflare-Workers");
});
