import { describe, expect, it } from "vitest";
import { parseProxyReport } from "./proxy-report.ts";

const base = {
  v: 1,
  proxy: "sidecar~reviews-v1~default",
  namespace: "default",
  labels: { app: "reviews" },
  at: 1_700_000_000_000,
  inboundAddress: "127.0.0.1:15006",
  peerAuthentication: { mode: "PERMISSIVE", defaultMode: "PERMISSIVE", ports: {} },
  inbound: { mtls: 0, plaintext: 0, principals: {} },
  outbound: [],
};

describe("proxy reports at the bus edge", () => {
  it("accepts a report of an older proxy (no kind, no applied config) as it is", () => {
    const report = parseProxyReport(structuredClone(base));
    expect(report?.proxy).toBe("sidecar~reviews-v1~default");
    expect(report?.kind).toBeUndefined();
    expect(report?.config).toBeUndefined();
  });

  it("keeps the kind and the applied config a newer proxy sends", () => {
    const config = { revision: 7, version: "abc", role: "gateway", gateways: ["istio-system/public"] };
    const report = parseProxyReport({ ...base, kind: "gateway", config });
    expect(report?.kind).toBe("gateway");
    expect(report?.config).toEqual(config);
  });

  it("drops a malformed applied config or kind but keeps the proxy visible", () => {
    for (const config of [
      { revision: -1, version: "abc", role: "sidecar" },
      { revision: 3, role: "sidecar" },
      "x",
    ]) {
      const report = parseProxyReport({ ...base, kind: "router", config });
      expect(report?.proxy).toBe(base.proxy);
      expect(report?.config).toBeUndefined();
      expect(report?.kind).toBeUndefined();
    }
  });

  it("refuses what is not a v1 report", () => {
    expect(parseProxyReport({ ...base, v: 2 })).toBeUndefined();
    expect(parseProxyReport({ ...base, proxy: "" })).toBeUndefined();
    expect(parseProxyReport({ ...base, labels: null })).toBeUndefined();
    expect(parseProxyReport({ ...base, at: "yesterday" })).toBeUndefined();
    expect(parseProxyReport([base])).toBeUndefined();
  });
});
