import { describe, expect, it } from "vitest";
import { formatAge, formatApplyLine, formatDeleteLine, formatDiagnostic, formatTable } from "./output.ts";

const vs = { kind: "VirtualService", namespace: "default", name: "reviews" };

describe("CLI output", () => {
  it("names resources the way kubectl does", () => {
    expect(
      formatApplyLine({ ref: vs, apiVersion: "networking.istio.io/v1", action: "configured", revision: 3 }),
    ).toBe("virtualservice.networking.istio.io/reviews configured");
    const svc = { kind: "Service", namespace: "default", name: "ratings" };
    expect(formatApplyLine({ ref: svc, apiVersion: "v1", action: "created", revision: 1 }, true)).toBe(
      "service/ratings created (dry run)",
    );
    expect(
      formatDeleteLine({
        ref: vs,
        apiVersion: "networking.istio.io/v1beta1",
        action: "deleted",
        revision: 9,
      }),
    ).toBe('virtualservice.networking.istio.io "reviews" deleted');
  });

  it("prints diagnostics as FILE: Kind/ns/name: path: message, naming the file once for parse errors", () => {
    const field = {
      severity: "error",
      code: "JIBE1010",
      resource: "VirtualService/default/reviews",
      path: "spec.hosts",
      message: "must be a list",
    } as const;
    expect(formatDiagnostic(field, "vs.yaml")).toBe(
      "vs.yaml: VirtualService/default/reviews: spec.hosts: must be a list",
    );
    const parse = {
      severity: "error",
      code: "JIBE1001",
      resource: "vs.yaml",
      path: "line 3, column 1",
      message: "bad",
    } as const;
    expect(formatDiagnostic(parse, "vs.yaml")).toBe("vs.yaml: line 3, column 1: bad");
    expect(formatDiagnostic({ ...field, severity: "warning", path: "" })).toBe(
      "VirtualService/default/reviews: warning: must be a list",
    );
  });

  it("aligns table columns and ages like kubectl", () => {
    expect(
      formatTable(
        ["NAME", "AGE"],
        [
          ["reviews", "5s"],
          ["ratings-long", "2m"],
        ],
      ),
    ).toBe("NAME           AGE\nreviews        5s\nratings-long   2m\n");
    const now = Date.parse("2025-01-10T00:00:00Z");
    expect(formatAge("2025-01-09T23:59:30Z", now)).toBe("30s");
    expect(formatAge("2025-01-09T23:00:00Z", now)).toBe("60m");
    expect(formatAge("2025-01-01T00:00:00Z", now)).toBe("9d");
  });
});
