import { describe, expect, it } from "vitest";
import { validateResource } from "./validate.ts";

const dr = (trafficPolicy: object) => ({
  apiVersion: "networking.istio.io/v1",
  kind: "DestinationRule",
  metadata: { name: "api" },
  spec: { host: "api", trafficPolicy },
});

const errors = (doc: unknown) => validateResource(doc).diagnostics.filter((d) => d.severity === "error");

describe("DestinationRule tls validation (Istio's ClientTLSSettings rules)", () => {
  it("refuses MUTUAL without a client certificate and key, naming each missing field", () => {
    expect(errors(dr({ tls: { mode: "MUTUAL", caCertificates: "/ca.pem" } }))).toMatchObject([
      { code: "JIBE1012", path: "spec.trafficPolicy.tls.clientCertificate" },
      { code: "JIBE1012", path: "spec.trafficPolicy.tls.privateKey" },
    ]);
    expect(
      errors(
        dr({ portLevelSettings: [{ port: { number: 443 }, tls: { mode: "MUTUAL", privateKey: "/k.pem" } }] }),
      ),
    ).toMatchObject([
      { code: "JIBE1012", path: "spec.trafficPolicy.portLevelSettings[0].tls.clientCertificate" },
    ]);
  });

  it("accepts MUTUAL with files or a credentialName, and SIMPLE with nothing else", () => {
    expect(
      errors(dr({ tls: { mode: "MUTUAL", clientCertificate: "/c.pem", privateKey: "/k.pem" } })),
    ).toEqual([]);
    expect(errors(dr({ tls: { mode: "MUTUAL", credentialName: "api-client" } }))).toEqual([]);
    expect(errors(dr({ tls: { mode: "SIMPLE" } }))).toEqual([]);
  });

  it("refuses user certificates with ISTIO_MUTUAL (it uses the mesh's)", () => {
    expect(errors(dr({ tls: { mode: "ISTIO_MUTUAL", caCertificates: "/ca.pem" } }))).toMatchObject([
      { code: "JIBE1013", path: "spec.trafficPolicy.tls.caCertificates" },
    ]);
  });
});
