import { describe, expect, it } from "vitest";
import { resolveKind } from "./kinds.ts";

describe("resolveKind", () => {
  it.each([
    ["vs", "VirtualService"],
    ["virtualservice", "VirtualService"],
    ["VirtualServices", "VirtualService"],
    ["virtualservices.networking.istio.io", "VirtualService"],
    ["dr", "DestinationRule"],
    ["destinationrules", "DestinationRule"],
    ["we", "WorkloadEntry"],
    ["svc", "Service"],
    ["services", "Service"],
    ["Service", "Service"],
    ["se", "ServiceEntry"],
    ["sidecars", "Sidecar"],
    ["gw", "Gateway"],
    ["ingresses", "Ingress"],
  ])("resolves %s to %s", (input, kind) => {
    expect(resolveKind(input)).toBe(kind);
  });

  it("does not resolve kinds that are not supported", () => {
    expect(resolveKind("envoyfilter")).toBeUndefined();
    expect(resolveKind("wasmplugins")).toBeUndefined();
  });
});
