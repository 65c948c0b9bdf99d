import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { checkGatewayReferences } from "./gateway-references.ts";
import { resolveKind } from "./kinds.ts";
import { parseDocuments } from "./parse.ts";
import { validateDocuments, validateResource } from "./validate.ts";

const SAMPLES = new URL("../../../shared/conformance/istio-samples/bookinfo/networking/", import.meta.url);

const gateway = (servers: unknown, selector: unknown = { istio: "ingressgateway" }) => ({
  apiVersion: "networking.istio.io/v1beta1",
  kind: "Gateway",
  metadata: { name: "gw" },
  spec: { selector, servers },
});
const ingress = (spec: unknown, annotations?: Record<string, string>) => ({
  apiVersion: "networking.k8s.io/v1",
  kind: "Ingress",
  metadata: { name: "web", ...(annotations ? { annotations } : {}) },
  spec,
});
const backend = { service: { name: "productpage", port: { number: 9080 } } };
const paths = (d: unknown) => validateResource(d).diagnostics.map((x) => `${x.severity} ${x.path}`);
const messages = (d: unknown) =>
  validateResource(d)
    .diagnostics.map((x) => x.message)
    .join("\n");

describe("Istio Gateway validation", () => {
  it("accepts bookinfo-gateway.yaml and certmanager-gateway.yaml", () => {
    for (const file of ["bookinfo-gateway.yaml", "certmanager-gateway.yaml"]) {
      const text = readFileSync(new URL(file, SAMPLES), "utf8");
      const { diagnostics } = validateDocuments(parseDocuments(text).documents);
      expect(
        diagnostics.filter((d) => d.severity === "error"),
        file,
      ).toEqual([]);
    }
    expect(resolveKind("gw")).toBe("Gateway");
  });

  it("names broken servers, hosts and TLS settings", () => {
    expect(paths(gateway([]))).toEqual(["error spec.servers"]);
    expect(
      paths(gateway([{ port: { number: 80, protocol: "HTTP", targetPort: 8080 }, hosts: ["*"] }])),
    ).toEqual(["error spec.servers[0].port.name", "error spec.servers[0].port.targetPort"]);
    expect(
      paths(
        gateway([
          { port: { number: 80, name: "http" }, hosts: [] },
          {
            port: { number: 443, name: "http", protocol: "HTTPS" },
            hosts: ["a/b/c", "Bad_NS/x.example.com"],
          },
          {
            port: { number: 80, name: "plain", protocol: "HTTP" },
            hosts: ["*"],
            tls: { mode: "SIMPLE", credentialName: "c" },
          },
          { port: { number: 443, name: "simple", protocol: "HTTPS" }, hosts: ["*"], tls: { mode: "SIMPLE" } },
          {
            port: { number: 443, name: "mutual", protocol: "HTTPS" },
            hosts: ["*"],
            tls: { mode: "MUTUAL", serverCertificate: "/c", privateKey: "/k" },
          },
          {
            port: { number: 443, name: "pass", protocol: "HTTPS" },
            hosts: ["*"],
            tls: { mode: "PASSTHROUGH" },
          },
        ]),
      ),
    ).toEqual([
      "error spec.servers[0].hosts",
      "error spec.servers[0].port.protocol",
      "error spec.servers[1].hosts[0]",
      "error spec.servers[1].hosts[1]",
      "error spec.servers[1].port.name",
      "error spec.servers[1].tls.mode",
      "error spec.servers[2].tls.mode",
      "error spec.servers[3].tls.credentialName",
      "error spec.servers[4].tls.caCertificates",
      "error spec.servers[5].tls.mode",
    ]);
    expect(
      validateResource(
        gateway([
          {
            port: { number: 80, name: "http", protocol: "HTTP" },
            hosts: ["prod/*.example.com"],
            tls: { httpsRedirect: true },
          },
        ]),
      ).diagnostics,
    ).toEqual([]);
  });

  const tlsServer = (tls: object, protocol = "HTTPS") => ({
    port: { number: 443, name: "tls", protocol },
    hosts: ["*"],
    tls,
  });
  const found = (tls: object, protocol?: string) =>
    validateResource(gateway([tlsServer(tls, protocol)])).diagnostics.map((d) => `${d.severity} ${d.path}`);

  it("accepts each mode with what it needs: ISTIO_MUTUAL alone, OPTIONAL_MUTUAL like MUTUAL, credentialNames", () => {
    expect(found({ mode: "ISTIO_MUTUAL" })).toEqual([]);
    expect(
      found({ mode: "ISTIO_MUTUAL", subjectAltNames: ["spiffe://cluster.local/ns/a/sa/b"] }, "TLS"),
    ).toEqual([]);
    expect(found({ mode: "OPTIONAL_MUTUAL", credentialName: "c" })).toEqual([]);
    expect(
      found({ mode: "MUTUAL", serverCertificate: "/c", privateKey: "/k", caCertificates: "/ca" }),
    ).toEqual([]);
    expect(found({ mode: "SIMPLE", credentialNames: ["rsa", "ecdsa"] }, "TLS")).toEqual([]);
    expect(found({ mode: "AUTO_PASSTHROUGH" }, "TLS")).toEqual([]);
  });

  it("names each field Istio rejects in a TLS mode, with the fix", () => {
    expect(
      found({
        mode: "ISTIO_MUTUAL",
        credentialName: "c",
        serverCertificate: "/c",
        privateKey: "/k",
        caCertificates: "/ca",
      }),
    ).toEqual([
      "error spec.servers[0].tls.serverCertificate",
      "error spec.servers[0].tls.privateKey",
      "error spec.servers[0].tls.caCertificates",
      "error spec.servers[0].tls.credentialName",
    ]);
    expect(messages(gateway([tlsServer({ mode: "ISTIO_MUTUAL", credentialName: "c" })]))).toContain(
      "remove credentialName, or use mode MUTUAL",
    );
    // MUTUAL and OPTIONAL_MUTUAL without a Secret need the client CA.
    expect(found({ mode: "OPTIONAL_MUTUAL", serverCertificate: "/c", privateKey: "/k" })).toEqual([
      "error spec.servers[0].tls.caCertificates",
    ]);
    expect(found({ mode: "SIMPLE", credentialName: "a", credentialNames: ["b"] })).toEqual([
      "error spec.servers[0].tls.credentialNames",
    ]);
    expect(found({ mode: "SIMPLE", credentialName: "a", caCrl: "/crl" })).toEqual([
      "error spec.servers[0].tls.caCrl",
      "error spec.servers[0].tls.caCrl",
    ]);
    expect(found({ mode: "SIMPLE", credentialNames: ["a", "b", "c"] })).toEqual([
      "warning spec.servers[0].tls.credentialNames",
    ]);
    expect(found({ mode: "PASSTHROUGH", credentialName: "c" }, "TLS")).toEqual([
      "warning spec.servers[0].tls.credentialName",
    ]);
    expect(found({ mode: "AUTO_PASSTHROUGH" })).toEqual(["error spec.servers[0].tls.mode"]);
    expect(found({ mode: "SIMPLE", credentialName: "c", subjectAltNames: ["x"] })).toEqual([
      "warning spec.servers[0].tls.subjectAltNames",
    ]);
    expect(found({ mode: "SIMPLE", credentialName: "c", httpsRedirect: true })).toEqual([
      "warning spec.servers[0].tls.httpsRedirect",
    ]);
    // A TCP server carries no TLS settings (use TLS with SIMPLE to terminate TLS).
    expect(found({ mode: "SIMPLE", credentialName: "c" }, "TCP")).toEqual(["error spec.servers[0].tls.mode"]);
  });
});

describe("Kubernetes Ingress validation", () => {
  it("accepts exact, prefix and default backends with TLS", () => {
    const ok = ingress({
      ingressClassName: "jibe",
      defaultBackend: backend,
      tls: [{ hosts: ["bookinfo.example.com"], secretName: "bookinfo-cert" }],
      rules: [
        {
          host: "bookinfo.example.com",
          http: {
            paths: [
              { path: "/productpage", pathType: "Exact", backend },
              {
                path: "/static",
                pathType: "Prefix",
                backend: { service: { name: "productpage", port: { name: "http" } } },
              },
            ],
          },
        },
      ],
    });
    expect(validateResource(ok).diagnostics).toEqual([]);
    expect(resolveKind("ing")).toBe("Ingress");
  });

  it("says regex paths and other controllers' annotations are not supported, naming the field and the fix", () => {
    const nginx = ingress(
      {
        ingressClassName: "jibe",
        rules: [{ http: { paths: [{ path: "/api/(.*)", pathType: "ImplementationSpecific", backend }] } }],
      },
      { "nginx.ingress.kubernetes.io/rewrite-target": "/$1", "ingress.kubernetes.io/ssl-redirect": "true" },
    );
    const result = validateResource(nginx);
    expect(result.ok).toBe(false);
    expect(result.diagnostics.map((d) => `${d.code} ${d.path}`)).toEqual([
      'JIBE1028 metadata.annotations["nginx.ingress.kubernetes.io/rewrite-target"]',
      'JIBE1028 metadata.annotations["ingress.kubernetes.io/ssl-redirect"]',
      "JIBE1028 spec.rules[0].http.paths[0].path",
    ]);
    const text = messages(nginx);
    expect(text).toContain("http[].rewrite.uri");
    expect(text).toContain("tls.httpsRedirect");
    expect(text).toContain("match.uri.regex");
  });

  it("names broken hosts, paths and backends", () => {
    expect(paths(ingress({}))).toEqual(["warning spec.ingressClassName", "error spec.rules"]);
    expect(messages(ingress({ ingressClassName: "nginx", defaultBackend: backend }))).toContain(
      "ingress class \"nginx\" is not Jibe's, so Jibe's gateways ignore this Ingress; set ingressClassName: jibe",
    );
    expect(
      validateResource(ingress({ defaultBackend: backend }, { "kubernetes.io/ingress.class": "jibe" }))
        .diagnostics,
    ).toEqual([]);
    expect(
      paths(
        ingress({
          ingressClassName: "jibe",
          rules: [
            {
              host: "*foo.com",
              http: {
                paths: [
                  { path: "/a", backend },
                  { path: "relative", pathType: "Prefix", backend },
                  {
                    path: "/b",
                    pathType: "Prefix",
                    backend: { service: { name: "productpage", port: { number: 80, name: "http" } } },
                  },
                  {
                    path: "/c",
                    pathType: "Prefix",
                    backend: { resource: { kind: "StorageBucket", name: "static" } },
                  },
                  { path: "/d", pathType: "ImplementationSpecific", backend },
                ],
              },
            },
          ],
        }),
      ),
    ).toEqual([
      "error spec.rules[0].host",
      "error spec.rules[0].http.paths[0].pathType",
      "error spec.rules[0].http.paths[1].path",
      "error spec.rules[0].http.paths[2].backend.service.port",
      "error spec.rules[0].http.paths[3].backend.resource",
      "warning spec.rules[0].http.paths[4].pathType",
    ]);
  });
});

describe("dangling Gateway references", () => {
  it("warns for VirtualServices bound to a Gateway that none of the resources defines", () => {
    const vs = (name: string, gateways: string[], matchGateways?: string[]) => ({
      apiVersion: "networking.istio.io/v1",
      kind: "VirtualService",
      metadata: { name },
      spec: {
        hosts: ["shop.example.com"],
        gateways,
        http: [
          {
            ...(matchGateways ? { match: [{ gateways: matchGateways }] } : {}),
            route: [{ destination: { host: "web" } }],
          },
        ],
      },
    });
    const { resources } = validateDocuments([
      gateway([{ port: { number: 80, name: "http", protocol: "HTTP" }, hosts: ["*"] }]),
      vs("ok", ["gw", "mesh", "default/gw", "jibe-edge"]),
      vs("missing", ["shop/public"], ["gw.default", "typo"]),
    ]);
    expect(
      checkGatewayReferences(resources).map((d) => `${d.severity} ${d.code} ${d.resource} ${d.path}`),
    ).toEqual([
      "warning JIBE1040 VirtualService/default/missing spec.gateways[0]",
      "warning JIBE1040 VirtualService/default/missing spec.http[0].match[0].gateways[1]",
    ]);
  });
});
