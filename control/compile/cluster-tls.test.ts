import { describe, expect, it } from "vitest";
import { clusterTlsOf } from "./cluster-tls.ts";
import { effectiveTrafficPolicy } from "./traffic-policy.ts";

describe("DestinationRule tls → cluster TLS origination", () => {
  it("carries the mode and the settings the proxy needs (files by path, SNI, SANs)", () => {
    expect(
      clusterTlsOf({
        tls: {
          mode: "MUTUAL",
          clientCertificate: "/etc/certs/client.pem",
          privateKey: "/etc/certs/key.pem",
          caCertificates: "/etc/certs/ca.pem",
          sni: "api.example.com",
          subjectAltNames: ["api.example.com"],
        },
      }),
    ).toEqual({
      tlsMode: "MUTUAL",
      tls: {
        clientCertificate: "/etc/certs/client.pem",
        privateKey: "/etc/certs/key.pem",
        caCertificates: "/etc/certs/ca.pem",
        sni: "api.example.com",
        subjectAltNames: ["api.example.com"],
      },
    });
    expect(clusterTlsOf({ tls: { mode: "DISABLE" } })).toEqual({ tlsMode: "DISABLE" });
    // No mode: auto-mTLS decides, whatever else is set.
    expect(clusterTlsOf({ tls: { sni: "x" } })).toEqual({});
  });

  it("applies portLevelSettings tls to its port only (Istio's merge: the port's settings replace the rule's)", () => {
    const rule = {
      tls: { mode: "SIMPLE" as const, sni: "all.example.com" },
      portLevelSettings: [{ port: { number: 9090 }, tls: { mode: "DISABLE" as const } }],
    };
    expect(clusterTlsOf(effectiveTrafficPolicy(rule, undefined, 9090))).toEqual({ tlsMode: "DISABLE" });
    expect(clusterTlsOf(effectiveTrafficPolicy(rule, undefined, 443))).toEqual({
      tlsMode: "SIMPLE",
      tls: { sni: "all.example.com" },
    });
    const subset = {
      tls: { mode: "ISTIO_MUTUAL" as const, subjectAltNames: ["spiffe://cluster.local/ns/a/sa/b"] },
    };
    expect(clusterTlsOf(effectiveTrafficPolicy(rule, subset, 443))).toEqual({
      tlsMode: "ISTIO_MUTUAL",
      tls: { subjectAltNames: ["spiffe://cluster.local/ns/a/sa/b"] },
    });
  });
});
