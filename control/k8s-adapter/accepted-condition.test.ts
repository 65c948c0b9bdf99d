import { describe, expect, it } from "vitest";
import type { Diagnostic } from "../compile/snapshot.ts";
import { statusWithVerdict } from "./accepted-condition.ts";

const t0 = new Date("2025-01-01T00:00:00Z");
const t1 = new Date("2025-01-02T00:00:00Z");
const bad: Diagnostic[] = [
  {
    severity: "error",
    code: "JIBE1019",
    resource: "VirtualService/default/r",
    path: "spec.http[0].timeout",
    message: "not a duration",
  },
  {
    severity: "warning",
    code: "JIBE2008",
    resource: "VirtualService/default/r",
    path: "spec.x",
    message: "ignored",
  },
];

describe("statusWithVerdict", () => {
  it("writes the field-level reason once, keeping other conditions, and nothing when already said", () => {
    const other = { type: "Reconciled", status: "True", reason: "x", message: "", lastTransitionTime: "t" };
    const first = statusWithVerdict({ conditions: [other] }, 3, { accepted: false, diagnostics: bad }, t0);
    expect(first).toEqual({
      observedGeneration: 3,
      conditions: [
        other,
        {
          type: "Accepted",
          status: "False",
          reason: "Invalid",
          message: "not published: spec.http[0].timeout: not a duration",
          observedGeneration: 3,
          lastTransitionTime: "2025-01-01T00:00:00Z",
        },
      ],
    });
    expect(statusWithVerdict(first, 3, { accepted: false, diagnostics: bad }, t1)).toBeUndefined();
  });

  it("moves lastTransitionTime only when the condition's status flips", () => {
    const rejected = statusWithVerdict(undefined, 1, { accepted: false, diagnostics: bad }, t0);
    const stillRejected = statusWithVerdict(rejected, 2, { accepted: false, diagnostics: bad }, t1);
    expect(stillRejected?.conditions).toMatchObject([
      { observedGeneration: 2, lastTransitionTime: "2025-01-01T00:00:00Z" },
    ]);
    const accepted = statusWithVerdict(stillRejected, 3, { accepted: true }, t1);
    expect(accepted?.conditions).toMatchObject([
      { status: "True", lastTransitionTime: "2025-01-02T00:00:00Z" },
    ]);
  });
});
