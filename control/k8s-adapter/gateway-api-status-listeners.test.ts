import { describe, expect, it } from "vitest";
import { validateDocuments } from "../model/validate.ts";
import { computeGatewayApiStatus } from "./gateway-api-status.ts";
import type { KubeObjectLike } from "./mesh-documents.ts";

// HTTPS listener status from the compiler's certificate diagnostics (JIBE2065): ResolvedRefs and
// Programmed as the Gateway API defines them for certificateRefs.

const GW = "gateway.networking.k8s.io/v1";

const https = (name: string, port: number, certificateRefs: object[]) => ({
  name,
  port,
  protocol: "HTTPS",
  hostname: `${name}.example.com`,
  tls: { mode: "Terminate", certificateRefs },
});

const gateway: KubeObjectLike = {
  apiVersion: GW,
  kind: "Gateway",
  metadata: { name: "web", namespace: "infra", generation: 2 },
  spec: {
    gatewayClassName: "jibe",
    listeners: [
      https("good", 443, [{ name: "good-cert" }]),
      https("foreign", 443, [{ name: "cert", namespace: "certs" }]),
      https("partly", 443, [{ name: "partly-cert" }, { kind: "ConfigMap", name: "x" }]),
    ],
  },
};

function listenerConditions(): Record<string, string[]> {
  const { resources, diagnostics } = validateDocuments([gateway]);
  expect(diagnostics.filter((d) => d.severity === "error")).toEqual([]);
  const status = computeGatewayApiStatus({ gatewayClasses: [], gateways: [gateway], routes: [], resources });
  return Object.fromEntries(
    (status.gateways.get("infra/web")?.listeners ?? []).map((l) => [
      l.name,
      l.conditions.map((c) => `${c.type}=${c.status}/${c.reason}`),
    ]),
  );
}

describe("Gateway API HTTPS listener status", () => {
  it("reports certificateRefs: RefNotPermitted (not programmed), InvalidCertificateRef (still programmed with the good ref)", () => {
    expect(listenerConditions()).toEqual({
      good: ["Accepted=True/Accepted", "Programmed=True/Programmed", "ResolvedRefs=True/ResolvedRefs"],
      foreign: ["Accepted=True/Accepted", "Programmed=False/Invalid", "ResolvedRefs=False/RefNotPermitted"],
      partly: [
        "Accepted=True/Accepted",
        "Programmed=True/Programmed",
        "ResolvedRefs=False/InvalidCertificateRef",
      ],
    });
  });
});
