import { describe, expect, it } from "vitest";
import { TLS_MODE_ISTIO, TLS_MODE_LABEL, usesMeshTls } from "./mesh-tls.ts";

describe("auto-mTLS: does the sidecar originate mutual TLS to an endpoint?", () => {
  const sidecar = { labels: { app: "reviews", [TLS_MODE_LABEL]: TLS_MODE_ISTIO } };
  const plain = { labels: { app: "legacy" } };

  it("without a DestinationRule tls.mode: exactly to endpoints marked as having a sidecar", () => {
    expect(usesMeshTls({}, sidecar)).toBe(true);
    expect(usesMeshTls({}, plain)).toBe(false);
    expect(usesMeshTls({}, { labels: { [TLS_MODE_LABEL]: "disabled" } })).toBe(false);
  });

  it("a DestinationRule decides when it sets tls.mode", () => {
    expect(usesMeshTls({ tlsMode: "DISABLE" }, sidecar)).toBe(false);
    expect(usesMeshTls({ tlsMode: "ISTIO_MUTUAL" }, plain)).toBe(true);
    // User-certificate TLS is not originated yet: never the mesh identity.
    expect(usesMeshTls({ tlsMode: "SIMPLE" }, sidecar)).toBe(false);
    expect(usesMeshTls({ tlsMode: "MUTUAL" }, sidecar)).toBe(false);
  });
});
