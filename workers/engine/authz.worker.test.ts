import { expect, it } from "vitest";
import { defineAuthzSuite } from "./authz.case.ts";
import { defineExtAuthzSuite } from "./ext-authz.case.ts";

// The shared authz suite inside workerd (the edge worker's runtime): same cases, same decisions.
defineAuthzSuite();
defineExtAuthzSuite();

// The claim "same decisions in both runtimes" holds only if this file really runs in workerd.
it("runs in workerd", () => {
  expect(navigator.userAgent).toBe("Cloudflare-Workers");
});
