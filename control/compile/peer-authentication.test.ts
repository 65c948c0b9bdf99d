import { describe, expect, it } from "vitest";
import type { StoredResource } from "../../broker/events.ts";
import type { MtlsMode } from "../model/peer-authentication.ts";
import { compile } from "./compile.ts";
import { createIncrementalCompiler } from "./incremental.ts";
import { inboundTlsMode } from "./peer-authentication.ts";
import type { ProxyIdentity } from "./snapshot.ts";
import { bookinfoMesh, gateway, resourceMap, sidecar } from "./test-resources.ts";

/**
 * PeerAuthentication precedence, as Istio documents it
 * (istio.io/latest/docs/reference/config/security/peer_authentication/): workload > namespace >
 * mesh (root namespace `istio-system`), UNSET inherits, default PERMISSIVE, port-level only with a
 * selector, oldest wins on ties.
 */

function pa(
  name: string,
  namespace: string,
  spec: { selector?: Record<string, string>; mode?: MtlsMode; ports?: Record<number, MtlsMode> },
  created = "2026-01-01T00:00:00Z",
): StoredResource {
  return {
    apiVersion: "security.istio.io/v1",
    kind: "PeerAuthentication",
    metadata: { name, namespace, creationTimestamp: created },
    spec: {
      ...(spec.selector ? { selector: { matchLabels: spec.selector } } : {}),
      ...(spec.mode ? { mtls: { mode: spec.mode } } : {}),
      ...(spec.ports
        ? { portLevelMtls: Object.fromEntries(Object.entries(spec.ports).map(([p, mode]) => [p, { mode }])) }
        : {}),
    },
  };
}

const finance: ProxyIdentity = {
  id: "sidecar~finance~foo",
  role: "sidecar",
  namespace: "foo",
  labels: { app: "finance" },
};
const tlsOf = (resources: StoredResource[], proxy = finance) => compile(resources, proxy).snapshot.inboundTls;
const modeOf = (resources: StoredResource[], port = 9080, proxy = finance) =>
  inboundTlsMode(tlsOf(resources, proxy), port);

type Level = MtlsMode | "none";
const LEVELS: Level[] = ["none", "UNSET", "DISABLE", "PERMISSIVE", "STRICT"];
const combos = LEVELS.flatMap((mesh) => LEVELS.flatMap((ns) => LEVELS.map((wl) => [mesh, ns, wl] as const)));

/** The narrowest level that sets a mode (not absent, not UNSET) decides; else PERMISSIVE. */
function expected(levels: readonly Level[]): string {
  return [...levels].reverse().find((l) => l !== "none" && l !== "UNSET") ?? "PERMISSIVE";
}

function policies(mesh: Level, ns: Level, wl: Level): StoredResource[] {
  const out: StoredResource[] = [];
  const mode = (l: Level) => (l === "none" ? undefined : l);
  if (mesh !== "none") out.push(pa("default", "istio-system", { mode: mode(mesh) }));
  if (ns !== "none") out.push(pa("default", "foo", { mode: mode(ns) }));
  if (wl !== "none") out.push(pa("finance", "foo", { selector: { app: "finance" }, mode: mode(wl) }));
  return out;
}

describe("PeerAuthentication: effective inbound mode", () => {
  it.each(combos)("mesh %s, namespace %s, workload %s", (mesh, ns, wl) => {
    const resources = policies(mesh, ns, wl);
    expect(modeOf(resources)).toBe(expected([mesh, ns, wl]));
    // The explicit UNSET written as `mtls: {}` or no `mtls` at all means the same.
    if (resources.length === 0) expect(tlsOf(resources)).toBeUndefined();
  });

  const portModes: MtlsMode[] = ["UNSET", "DISABLE", "PERMISSIVE", "STRICT"];
  const portCombos = portModes.flatMap((wl) => portModes.map((port) => [wl, port] as const));
  it.each(portCombos)("namespace STRICT, workload %s, port 8080 %s", (wl, port) => {
    const resources = [
      pa("default", "foo", { mode: "STRICT" }),
      pa("finance", "foo", { selector: { app: "finance" }, mode: wl, ports: { 8080: port } }),
    ];
    const workloadMode = wl === "UNSET" ? "STRICT" : wl;
    expect(modeOf(resources, 8080)).toBe(port === "UNSET" ? workloadMode : port);
    expect(modeOf(resources, 9080)).toBe(workloadMode);
  });

  it("Istio's doc example: namespace PERMISSIVE, finance STRICT except port 8080 DISABLE", () => {
    const resources = [
      pa("default", "foo", { mode: "PERMISSIVE" }),
      pa("finance", "foo", { selector: { app: "finance" }, mode: "STRICT", ports: { 8080: "DISABLE" } }),
    ];
    expect(tlsOf(resources)).toEqual({
      defaultMode: "STRICT",
      ports: { 8080: "DISABLE" },
      namespace: "PeerAuthentication/foo/default",
      workload: "PeerAuthentication/foo/finance",
    });
    expect(modeOf(resources, 8080, { ...finance, labels: { app: "other" } })).toBe("PERMISSIVE");
  });

  it("Istio's doc example: a workload policy inheriting the namespace mode, port 8080 DISABLE", () => {
    const resources = [
      pa("default", "istio-system", { mode: "STRICT" }),
      pa("finance", "foo", { selector: { app: "finance" }, mode: "UNSET", ports: { 8080: "DISABLE" } }),
    ];
    expect(modeOf(resources, 9080)).toBe("STRICT");
    expect(modeOf(resources, 8080)).toBe("DISABLE");
  });

  it("ignores policies of other namespaces, non-matching selectors and selectors in the root namespace", () => {
    const mesh = pa("default", "istio-system", { mode: "STRICT" });
    expect(modeOf([mesh, pa("default", "bar", { mode: "DISABLE" })])).toBe("STRICT");
    expect(modeOf([mesh, pa("w", "bar", { selector: { app: "finance" }, mode: "DISABLE" })])).toBe("STRICT");
    expect(modeOf([mesh, pa("w", "foo", { selector: { app: "payroll" }, mode: "DISABLE" })])).toBe("STRICT");
    expect(modeOf([mesh, pa("w", "istio-system", { selector: { app: "finance" }, mode: "DISABLE" })])).toBe(
      "STRICT",
    );
    // A workload policy must match every label of its selector.
    const twoLabels = pa("w", "foo", { selector: { app: "finance", version: "v2" }, mode: "DISABLE" });
    expect(modeOf([mesh, twoLabels])).toBe("STRICT");
    expect(modeOf([mesh, twoLabels], 9080, { ...finance, labels: { app: "finance", version: "v2" } })).toBe(
      "DISABLE",
    );
  });

  it("the oldest policy wins at each level, then the name; the others are reported", () => {
    for (const [level, ns, selector] of [
      ["mesh", "istio-system", undefined],
      ["namespace", "foo", undefined],
      ["workload", "foo", { app: "finance" }],
    ] as const) {
      const older = pa("zz-older", ns, { selector, mode: "DISABLE" }, "2026-01-01T00:00:00Z");
      const newer = pa("aa-newer", ns, { selector, mode: "STRICT" }, "2026-02-01T00:00:00Z");
      for (const order of [
        [older, newer],
        [newer, older],
      ]) {
        const { snapshot, diagnostics } = compile(order, finance);
        expect(inboundTlsMode(snapshot.inboundTls, 9080), level).toBe("DISABLE");
        expect(diagnostics.filter((d) => d.code === "JIBE2014").map((d) => d.resource)).toEqual([
          `PeerAuthentication/${ns}/aa-newer`,
        ]);
      }
      const sameTimeA = pa("a", ns, { selector, mode: "STRICT" });
      const sameTimeB = pa("b", ns, { selector, mode: "DISABLE" });
      expect(modeOf([sameTimeB, sameTimeA]), level).toBe("STRICT");
    }
  });

  it("is absent without PeerAuthentication (PERMISSIVE), and for gateways", () => {
    const plain = compile(bookinfoMesh(), sidecar("reviews")).snapshot;
    expect(plain.inboundTls).toBeUndefined();
    expect(inboundTlsMode(plain.inboundTls, 9080)).toBe("PERMISSIVE");
    const strict = pa("default", "istio-system", { mode: "STRICT" });
    expect(compile([strict], gateway(["default/gw"])).snapshot.inboundTls).toBeUndefined();
    const withPolicy = compile([...bookinfoMesh(), strict], sidecar("reviews")).snapshot;
    expect(withPolicy.inboundTls?.defaultMode).toBe("STRICT");
    expect(withPolicy.version).not.toBe(plain.version);
  });

  it("ignores an invalid policy (port-level mTLS without a selector) and reports it", () => {
    const bad = pa("default", "foo", { mode: "DISABLE", ports: { 8080: "DISABLE" } });
    const { snapshot, diagnostics } = compile(
      [pa("default", "istio-system", { mode: "STRICT" }), bad],
      finance,
    );
    expect(inboundTlsMode(snapshot.inboundTls, 8080)).toBe("STRICT");
    expect(diagnostics.map((d) => d.path)).toContain("spec.portLevelMtls");
  });

  it("recompiles incrementally when a PeerAuthentication changes, and only then", () => {
    const compiler = createIncrementalCompiler(sidecar("reviews"));
    const resources = resourceMap(bookinfoMesh());
    const first = compiler.update({ resources, changed: new Set(resources.keys()), revision: 1 });
    const strict = pa("default", "default", { mode: "STRICT" });
    resources.set("PeerAuthentication.default.default", strict);
    const second = compiler.update({
      resources,
      changed: new Set(["PeerAuthentication.default.default"]),
      revision: 2,
    });
    expect(second.changed).toBe(true);
    expect(second.snapshot.inboundTls?.defaultMode).toBe("STRICT");
    const third = compiler.update({ resources, changed: new Set(), revision: 3 });
    expect(third.changed).toBe(false);
    resources.delete("PeerAuthentication.default.default");
    const fourth = compiler.update({ resources, changed: new Set(), revision: 4 });
    expect(fourth.snapshot.inboundTls).toBeUndefined();
    expect(fourth.snapshot.version).toBe(first.snapshot.version);
  });
});
