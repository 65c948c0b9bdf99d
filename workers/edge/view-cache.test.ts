import { describe, expect, it } from "vitest";
import { compile } from "../../control/compile/compile.ts";
import type { ProxyIdentity } from "../../control/compile/snapshot.ts";
import { createViewCache } from "./view-cache.ts";

const proxy: ProxyIdentity = {
  id: "edge~t",
  role: "gateway",
  namespace: "default",
  labels: {},
  gateways: [],
};

describe("createViewCache", () => {
  it("builds a route table once per snapshot version and reuses it when the holder answers 'unchanged'", () => {
    const { snapshot } = compile([], proxy, 1);
    const views = createViewCache();
    expect(views.knownVersion()).toBeUndefined();
    expect(views.resolve({ version: "" })).toBeUndefined();

    const first = views.resolve({ version: snapshot.version, snapshot });
    expect(first?.snapshot).toBe(snapshot);
    expect(views.knownVersion()).toBe(snapshot.version);
    expect(views.resolve({ version: snapshot.version })).toBe(first);
  });

  it("keeps only the newest versions and reports an unknown version without a snapshot as missing", () => {
    const views = createViewCache(1);
    const a = compile([], proxy, 1).snapshot;
    const b = { ...a, version: `${a.version}-b` };
    views.resolve({ version: a.version, snapshot: a });
    views.resolve({ version: b.version, snapshot: b });
    expect(views.knownVersion()).toBe(b.version);
    expect(views.resolve({ version: a.version })).toBeUndefined();
  });
});
