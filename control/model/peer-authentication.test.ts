import { describe, expect, it } from "vitest";
import { resolveKind } from "./kinds.ts";
import { validateResource } from "./validate.ts";

const doc = (spec: unknown, namespace = "foo", apiVersion = "security.istio.io/v1") => ({
  apiVersion,
  kind: "PeerAuthentication",
  metadata: { name: "default", namespace },
  spec,
});

const problems = (d: unknown) => {
  const result = validateResource(d);
  return result.diagnostics.map((x) => `${x.severity} ${x.path}: ${x.message}`);
};

describe("PeerAuthentication validation", () => {
  it("accepts Istio's examples in v1 and v1beta1", () => {
    for (const apiVersion of ["security.istio.io/v1", "security.istio.io/v1beta1"]) {
      expect(validateResource(doc({ mtls: { mode: "STRICT" } }, "istio-system", apiVersion)).ok).toBe(true);
      const workload = doc(
        {
          selector: { matchLabels: { app: "finance" } },
          mtls: { mode: "UNSET" },
          portLevelMtls: { 8080: { mode: "DISABLE" } },
        },
        "foo",
        apiVersion,
      );
      const result = validateResource(workload);
      expect(result.ok).toBe(true);
      expect(result.diagnostics).toEqual([]);
    }
    expect(validateResource(doc({})).ok).toBe(true);
    expect(resolveKind("pa")).toBe("PeerAuthentication");
    expect(resolveKind("peerauthentications.security.istio.io")).toBe("PeerAuthentication");
  });

  it("names the field and the fix", () => {
    expect(problems(doc({ mtls: { mode: "strict" } }))).toEqual([
      expect.stringMatching(/^error spec\.mtls\.mode: .*STRICT/),
    ]);
    expect(problems(doc({ mtls: { mode: "STRICT", foo: 1 } }))[0]).toMatch(/^error spec\.mtls/);
    expect(problems(doc({ portLevelMtls: { 8080: { mode: "DISABLE" } } }))).toEqual([
      expect.stringMatching(/^error spec\.portLevelMtls: portLevelMtls needs a workload selector/),
    ]);
    expect(
      problems(doc({ selector: { matchLabels: {} }, portLevelMtls: { 8080: { mode: "DISABLE" } } })),
    ).toHaveLength(1);
    expect(
      problems(doc({ selector: { matchLabels: { app: "a" } }, portLevelMtls: { 0: { mode: "DISABLE" } } })),
    ).toEqual([expect.stringMatching(/^error spec\.portLevelMtls\["?0"?\]: port "0" is not a port number/)]);
    expect(
      problems(
        doc({ selector: { matchLabels: { app: "a" } }, portLevelMtls: { http: { mode: "DISABLE" } } }),
      ),
    ).toHaveLength(1);
    expect(problems(doc({ selector: { matchLabels: { app: "a" } } }, "istio-system"))).toEqual([
      expect.stringMatching(/^warning spec\.selector: .*root namespace "istio-system" is ignored/),
    ]);
  });
});
