import { describe, expect, it } from "vitest";
import { validateDocuments } from "../model/validate.ts";
import { compile } from "./compile.ts";
import type { Diagnostic, GatewayServerConfig, ProxyIdentity } from "./snapshot.ts";

/** Gateway API HTTP and HTTPS listeners as the Node gateway's servers (ports, hosts, certificates). */

const GW = "gateway.networking.k8s.io/v1";

const proxy: ProxyIdentity = {
  id: "gateway~web",
  role: "gateway",
  namespace: "infra",
  labels: {},
  gateways: ["infra/web"],
};

const gateway = (listeners: object[]) => ({
  apiVersion: GW,
  kind: "Gateway",
  metadata: { name: "web", namespace: "infra" },
  spec: { gatewayClassName: "jibe", listeners },
});

const https = (name: string, hostname: string | undefined, certificateRefs: object[], extra = {}) => ({
  name,
  port: 443,
  protocol: "HTTPS",
  ...(hostname ? { hostname } : {}),
  tls: { mode: "Terminate", certificateRefs, ...extra },
});

const grant = {
  apiVersion: "gateway.networking.k8s.io/v1beta1",
  kind: "ReferenceGrant",
  metadata: { name: "certs", namespace: "certs" },
  spec: {
    from: [{ group: "gateway.networking.k8s.io", kind: "Gateway", namespace: "infra" }],
    to: [{ group: "", kind: "Secret", name: "shared" }],
  },
};

function compiled(
  documents: object[],
  as: ProxyIdentity = proxy,
): { servers: GatewayServerConfig[]; diagnostics: Diagnostic[] } {
  const { resources, diagnostics: invalid } = validateDocuments(documents);
  expect(invalid.filter((d) => d.severity === "error")).toEqual([]);
  const { snapshot, diagnostics } = compile(resources, as);
  return { servers: snapshot.gatewayServers ?? [], diagnostics };
}

describe("Gateway API HTTP and HTTPS listeners", () => {
  it("become HTTP and SIMPLE servers: listener hostname as the server host, certificateRefs as credentials", () => {
    const { servers, diagnostics } = compiled([
      gateway([
        { name: "http", port: 80, protocol: "HTTP" },
        https("shop", "shop.example.com", [{ name: "shop-cert" }]),
        https("any", undefined, [
          { group: "", kind: "Secret", name: "rsa-cert" },
          { name: "ecdsa-cert", namespace: "infra" },
        ]),
      ]),
    ]);
    expect(diagnostics.filter((d) => d.code === "JIBE2065")).toEqual([]);
    expect(servers).toEqual([
      { origin: "KubernetesGateway/infra/web#http", port: 80, protocol: "HTTP", hosts: ["*"] },
      {
        origin: "KubernetesGateway/infra/web#shop",
        port: 443,
        protocol: "HTTPS",
        hosts: ["shop.example.com"],
        tls: { mode: "SIMPLE", credentialName: "shop-cert" },
      },
      {
        origin: "KubernetesGateway/infra/web#any",
        port: 443,
        protocol: "HTTPS",
        hosts: ["*"],
        tls: { mode: "SIMPLE", credentialNames: ["rsa-cert", "ecdsa-cert"] },
      },
    ]);
  });

  it("reads a Secret of another namespace only with a ReferenceGrant there (at <namespace>/<name>)", () => {
    const listeners = [https("shop", "shop.example.com", [{ name: "shared", namespace: "certs" }])];
    const denied = compiled([gateway(listeners)]);
    expect(denied.servers).toEqual([]);
    expect(denied.diagnostics.filter((d) => d.code === "JIBE2065").map((d) => d.path)).toEqual([
      "spec.listeners[0].tls.certificateRefs[0]",
      "spec.listeners[0].tls.certificateRefs",
    ]);
    expect(denied.diagnostics.find((d) => d.code === "JIBE2065")?.message).toContain("RefNotPermitted");
    const granted = compiled([gateway(listeners), grant]);
    expect(granted.servers[0]?.tls).toEqual({ mode: "SIMPLE", credentialName: "certs/shared" });
  });

  it("fails closed on what it cannot serve: a non-Secret ref, a path-like name, client certificate validation", () => {
    const { servers, diagnostics } = compiled([
      gateway([
        https("cm", "a.example.com", [{ group: "", kind: "ConfigMap", name: "x" }]),
        https("path", "b.example.com", [{ name: "../../etc" }]),
        https("mtls", "c.example.com", [{ name: "c-cert" }], {
          frontendValidation: { caCertificateRefs: [{ kind: "ConfigMap", name: "ca" }] },
        }),
        https("ok", "d.example.com", [{ name: "x" }, { name: "d-cert", kind: "ConfigMap" }]),
      ]),
    ]);
    expect(servers.map((s) => [s.origin, s.tls?.credentialName])).toEqual([
      ["KubernetesGateway/infra/web#ok", "x"],
    ]);
    expect(
      diagnostics
        .filter((d) => d.code === "JIBE2065")
        .map((d) => d.path)
        .sort(),
    ).toEqual(
      [
        "spec.listeners[0].tls.certificateRefs",
        "spec.listeners[0].tls.certificateRefs[0]",
        "spec.listeners[1].tls.certificateRefs",
        "spec.listeners[1].tls.certificateRefs[0]",
        "spec.listeners[2].tls.frontendValidation",
        "spec.listeners[3].tls.certificateRefs[1]",
      ].sort(),
    );
  });

  it("gives servers only to gateway proxies implementing the Gateway, never to sidecars", () => {
    const docs = [gateway([{ name: "http", port: 80, protocol: "HTTP" }])];
    expect(compiled(docs, { ...proxy, gateways: ["infra/other"] }).servers).toEqual([]);
    expect(compiled(docs, { ...proxy, role: "sidecar", gateways: [] }).servers).toEqual([]);
  });

  it("validates listener TLS as the Gateway API CRD does, with field paths", () => {
    const { diagnostics } = validateDocuments([
      gateway([
        { name: "no-tls", port: 443, protocol: "HTTPS" },
        { name: "pass", port: 8443, protocol: "HTTPS", tls: { mode: "Passthrough" } },
        { name: "no-refs", port: 9443, protocol: "HTTPS", tls: { mode: "Terminate" } },
        { name: "plain", port: 80, protocol: "HTTP", tls: { certificateRefs: [{ name: "x" }] } },
      ]),
    ]);
    expect(diagnostics.filter((d) => d.severity === "error").map((d) => `${d.code} ${d.path}`)).toEqual(
      expect.arrayContaining([
        "JIBE1012 spec.listeners[0].tls",
        "JIBE1013 spec.listeners[1].tls.mode",
        "JIBE1012 spec.listeners[2].tls.certificateRefs",
        "JIBE1022 spec.listeners[3].tls",
      ]),
    );
    const typo = validateDocuments([
      gateway([{ name: "bad-ref", port: 7443, protocol: "HTTPS", tls: { certificateRefs: [{ nme: "x" }] } }]),
    ]);
    expect(typo.diagnostics.map((d) => `${d.code} ${d.path}`)).toEqual(
      expect.arrayContaining(["JIBE1011 spec.listeners[0].tls.certificateRefs[0].nme"]),
    );
  });
});
