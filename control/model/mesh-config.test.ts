import { describe, expect, it } from "vitest";
import { parseDocuments } from "./parse.ts";
import { validateDocuments, validateResource } from "./validate.ts";

/** Istio's own mesh config ConfigMap, as `kubectl get cm istio -n istio-system -o yaml` shows it. */
const ISTIO_CONFIG_MAP = `
apiVersion: v1
kind: ConfigMap
metadata:
  name: istio
  namespace: istio-system
data:
  mesh: |-
    accessLogFile: /dev/stdout
    defaultConfig:
      discoveryAddress: istiod.istio-system.svc:15012
    extensionProviders:
    - name: sample-ext-authz-http
      envoyExtAuthzHttp:
        service: ext-authz.foo.svc.cluster.local
        port: 8000
        timeout: 2s
        includeRequestHeadersInCheck: ["x-ext-authz"]
        headersToUpstreamOnAllow: ["x-ext-authz-check-*"]
    - name: otel
      opentelemetry:
        service: otel.istio-system.svc.cluster.local
        port: 4317
  meshNetworks: 'networks: {}'
`;

const configMap = (mesh: string, name = "istio", namespace = "istio-system") => ({
  apiVersion: "v1",
  kind: "ConfigMap",
  metadata: { name, namespace },
  data: { mesh },
});

const errors = (doc: unknown) =>
  validateResource(doc)
    .diagnostics.filter((d) => d.severity === "error")
    .map((d) => `${d.path}: ${d.message}`);

describe("mesh config: ConfigMap istio-system/istio", () => {
  it("accepts Istio's own ConfigMap (other MeshConfig fields and providers pass through)", () => {
    const { documents } = parseDocuments(ISTIO_CONFIG_MAP);
    const { resources, diagnostics } = validateDocuments(documents);
    expect(diagnostics.filter((d) => d.severity === "error")).toEqual([]);
    expect(resources[0]?.kind).toBe("ConfigMap");
    // Stored with its data as spec; validating the stored form again gives the same resource.
    const again = validateResource(resources[0]);
    expect(again.ok && again.resource.spec).toEqual(resources[0]?.spec);
  });

  it("refuses bad providers with field paths into data.mesh", () => {
    const bad = errors(
      configMap(
        [
          "extensionProviders:",
          "- name: a",
          "  envoyExtAuthzHttp: { service: 'ext authz', port: 70000, timeout: 5, pathPrefix: check, statusOnError: nope, bogus: 1 }",
          "- name: a",
          "  envoyExtAuthzHttp: { port: 80, includeRequestHeadersInCheck: ['*'] }",
        ].join("\n"),
      ),
    );
    const paths = bad.map((e) => e.split(": ")[0]);
    expect(paths).toEqual(
      expect.arrayContaining([
        "data.mesh.extensionProviders[0].envoyExtAuthzHttp.timeout",
        "data.mesh.extensionProviders[0].envoyExtAuthzHttp.bogus",
        "data.mesh.extensionProviders[1].envoyExtAuthzHttp.service",
      ]),
    );
    const fixed = errors(
      configMap(
        [
          "extensionProviders:",
          "- name: a",
          "  envoyExtAuthzHttp: { service: 'ext authz', port: 70000, pathPrefix: check, statusOnError: nope }",
          "- name: a",
          "  envoyExtAuthzHttp: { service: b.svc, port: 80, includeRequestHeadersInCheck: ['*'] }",
        ].join("\n"),
      ),
    );
    expect(fixed).toEqual(
      expect.arrayContaining([
        expect.stringMatching(
          /^data\.mesh\.extensionProviders\[0\]\.envoyExtAuthzHttp\.service: .*\[<namespace>\/\]<host>/,
        ),
        expect.stringMatching(/envoyExtAuthzHttp\.port: port 70000 must be between 1 and 65535/),
        expect.stringMatching(/envoyExtAuthzHttp\.pathPrefix: .*must start with "\/"/),
        expect.stringMatching(/envoyExtAuthzHttp\.statusOnError: .*HTTP status/),
        expect.stringMatching(/extensionProviders\[1\]\.name: extension provider "a" is defined twice/),
        expect.stringMatching(/includeRequestHeadersInCheck\[0\]: header pattern "\*"/),
      ]),
    );
  });

  it("refuses mesh YAML that does not parse, and ConfigMaps other than istio-system/istio", () => {
    expect(errors(configMap("extensionProviders: [unclosed"))[0]).toMatch(
      /^data\.mesh: data\.mesh is not valid YAML/,
    );
    expect(errors(configMap("- a list"))[0]).toMatch(/must be a MeshConfig mapping/);
    expect(errors(configMap("{}", "my-app-config", "default"))[0]).toMatch(
      /^metadata\.name: Jibe reads only the mesh config ConfigMap istio-system\/istio/,
    );
  });
});
