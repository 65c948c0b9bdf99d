import { readdirSync, readFileSync } from "node:fs";
import { Ajv, type ValidateFunction } from "ajv";
import { describe, expect, it } from "vitest";
import { parseAllDocuments } from "yaml";
import { renderCrdFiles } from "./istio-crds.ts";
import { toStrictJsonSchema } from "./json-schema.ts";
import type { OpenApiSchema } from "./openapi-schema.ts";

interface Crd {
  metadata: { name: string };
  spec: {
    group: string;
    names: { kind: string; shortNames?: string[] };
    versions: {
      name: string;
      served: boolean;
      storage: boolean;
      subresources?: { status?: object };
      schema: { openAPIV3Schema: OpenApiSchema };
    }[];
  };
}

const dir = new URL("./", import.meta.url);
const crdFiles = readdirSync(dir).filter((f) => f.endsWith(".yaml"));
const crds = crdFiles.map((f) => parseAllDocuments(readFileSync(new URL(f, dir), "utf8"))[0]?.toJS() as Crd);
const samplesDir = new URL(
  "../../../../shared/conformance/istio-samples/bookinfo/networking/",
  import.meta.url,
);

const ajv = new Ajv({ allErrors: true });
const validators = new Map<string, ValidateFunction>();
for (const crd of crds) {
  for (const version of crd.spec.versions) {
    const schema = toStrictJsonSchema(version.schema.openAPIV3Schema);
    validators.set(`${crd.spec.group}/${version.name}/${crd.spec.names.kind}`, ajv.compile(schema));
  }
}

/** Validates a manifest as the API server would with these CRDs installed; errors as `spec.x[0].y: ...`. */
function validate(doc: { apiVersion?: string; kind?: string; [field: string]: unknown }): {
  served: boolean;
  errors: string[];
} {
  const validator = validators.get(`${doc.apiVersion}/${doc.kind}`);
  if (!validator) return { served: false, errors: [] };
  if (validator(doc)) return { served: true, errors: [] };
  const errors = (validator.errors ?? []).map((e) => {
    const path = e.instancePath
      .replace(/\/(\d+)/g, "[$1]")
      .replaceAll("/", ".")
      .replace(/^\./, "");
    const field =
      e.params && "additionalProperty" in e.params ? `.${String(e.params.additionalProperty)}` : "";
    return `${path}${field}: ${e.message}`;
  });
  return { served: true, errors };
}

describe("Istio CRDs", () => {
  it("are exactly what istio-crds.ts generates (run node infra/k8s/crds/write-crds.ts after a change)", () => {
    const generated = renderCrdFiles();
    expect(crdFiles.sort()).toEqual([...generated.keys()].sort());
    for (const [file, text] of generated) expect(readFileSync(new URL(file, dir), "utf8"), file).toBe(text);
  });

  it("keep Istio's group names and versions: v1 stored, older versions served, status subresource", () => {
    const byName = new Map(crds.map((c) => [c.metadata.name, c]));
    const expected: Record<string, string[]> = {
      "virtualservices.networking.istio.io": ["v1", "v1beta1", "v1alpha3"],
      "destinationrules.networking.istio.io": ["v1", "v1beta1", "v1alpha3"],
      "workloadentries.networking.istio.io": ["v1", "v1beta1", "v1alpha3"],
      "serviceentries.networking.istio.io": ["v1", "v1beta1", "v1alpha3"],
      "sidecars.networking.istio.io": ["v1", "v1beta1", "v1alpha3"],
      "gateways.networking.istio.io": ["v1", "v1beta1", "v1alpha3"],
      "authorizationpolicies.security.istio.io": ["v1", "v1beta1"],
      "requestauthentications.security.istio.io": ["v1", "v1beta1"],
      "peerauthentications.security.istio.io": ["v1", "v1beta1"],
      "telemetries.telemetry.istio.io": ["v1", "v1alpha1"],
    };
    expect([...byName.keys()].sort()).toEqual(Object.keys(expected).sort());
    for (const [name, versions] of Object.entries(expected)) {
      const crd = byName.get(name)!;
      expect(
        crd.spec.versions.map((v) => v.name),
        name,
      ).toEqual(versions);
      expect(
        crd.spec.versions.every((v) => v.served && v.subresources?.status),
        name,
      ).toBe(true);
      expect(
        crd.spec.versions.filter((v) => v.storage).map((v) => v.name),
        name,
      ).toEqual(["v1"]);
    }
  });

  it("have structural schemas (every node typed, as the API server requires)", () => {
    const untyped: string[] = [];
    const walk = (s: OpenApiSchema, path: string) => {
      if (!s.type && !s["x-kubernetes-int-or-string"]) untyped.push(path);
      for (const [k, v] of Object.entries(s.properties ?? {})) walk(v, `${path}.${k}`);
      if (s.items) walk(s.items, `${path}[]`);
      if (s.additionalProperties) walk(s.additionalProperties, `${path}{}`);
    };
    for (const crd of crds)
      for (const v of crd.spec.versions) walk(v.schema.openAPIV3Schema, crd.metadata.name);
    expect(untyped).toEqual([]);
  });

  it("accept every bookinfo networking sample of a kind Jibe serves", () => {
    const unserved = new Set<string>();
    let validated = 0;
    for (const file of readdirSync(samplesDir).filter((f) => f.endsWith(".yaml"))) {
      for (const [i, parsed] of parseAllDocuments(
        readFileSync(new URL(file, samplesDir), "utf8"),
      ).entries()) {
        const doc = parsed.toJS() as { apiVersion?: string; kind?: string } | null;
        if (!doc) continue;
        const result = validate(doc);
        if (!result.served) unserved.add(`${doc.apiVersion}/${doc.kind}`);
        else validated++;
        expect(result.errors, `${file} #${i}`).toEqual([]);
      }
    }
    expect(validated).toBeGreaterThanOrEqual(35);
    // Every Istio kind in the samples has a Jibe CRD.
    expect([...unserved].sort()).toEqual([]);
  });

  it("reject manifests with wrong types, unknown fields or bad enum values, naming the field", () => {
    const vs = (http: unknown) => ({
      apiVersion: "networking.istio.io/v1beta1",
      kind: "VirtualService",
      metadata: { name: "reviews" },
      spec: { hosts: ["reviews"], http },
    });
    expect(validate(vs([{ route: [{ destination: { host: "reviews" }, weight: "80" }] }])).errors).toEqual([
      "spec.http[0].route[0].weight: must be integer",
    ]);
    expect(validate(vs([{ rout: [] }])).errors).toEqual([
      "spec.http[0].rout: must NOT have additional properties",
    ]);
    expect(validate(vs([{ route: [{ weight: 100 }] }])).errors).toEqual([
      "spec.http[0].route[0]: must have required property 'destination'",
    ]);
    expect(
      validate({ apiVersion: "networking.istio.io/v1alpha3", kind: "DestinationRule", spec: { subsets: [] } })
        .errors,
    ).toEqual(["spec: must have required property 'host'"]);
    expect(
      validate({
        apiVersion: "security.istio.io/v1",
        kind: "PeerAuthentication",
        spec: { mtls: { mode: "STRICTER" } },
      }).errors,
    ).toEqual(["spec.mtls.mode: must be equal to one of the allowed values"]);
    expect(
      validate({
        apiVersion: "security.istio.io/v1beta1",
        kind: "AuthorizationPolicy",
        spec: { action: "DENY", rules: [{ when: [{ values: ["x"] }] }] },
      }).errors,
    ).toEqual(["spec.rules[0].when[0]: must have required property 'key'"]);
  });

  it("accept the other kinds' typical manifests, status written by the adapter, and opaque fields", () => {
    const ok = [
      {
        apiVersion: "networking.istio.io/v1",
        kind: "WorkloadEntry",
        spec: {
          address: "10.0.0.7",
          ports: { http: 9080 },
          labels: { app: "ratings" },
          serviceAccount: "bookinfo-ratings",
        },
      },
      {
        apiVersion: "security.istio.io/v1",
        kind: "AuthorizationPolicy",
        spec: {
          selector: { matchLabels: { app: "ratings" } },
          action: "ALLOW",
          rules: [
            {
              from: [{ source: { principals: ["cluster.local/ns/default/sa/bookinfo-reviews"] } }],
              to: [{ operation: { methods: ["GET"] } }],
            },
          ],
        },
      },
      {
        apiVersion: "security.istio.io/v1",
        kind: "RequestAuthentication",
        spec: {
          jwtRules: [
            {
              issuer: "https://issuer.example",
              jwksUri: "https://issuer.example/jwks",
              fromHeaders: [{ name: "x-jwt", prefix: "Bearer " }],
            },
          ],
        },
      },
      {
        apiVersion: "security.istio.io/v1beta1",
        kind: "PeerAuthentication",
        spec: { mtls: { mode: "STRICT" }, portLevelMtls: { "9080": { mode: "PERMISSIVE" } } },
      },
      {
        apiVersion: "telemetry.istio.io/v1alpha1",
        kind: "Telemetry",
        spec: {
          tracing: [{ randomSamplingPercentage: 10, providers: [{ name: "otel" }] }],
          metrics: [
            {
              overrides: [
                {
                  match: { metric: "REQUEST_COUNT", mode: "CLIENT" },
                  tagOverrides: { request_host: { operation: "REMOVE" } },
                },
              ],
            },
          ],
        },
      },
      {
        apiVersion: "networking.istio.io/v1",
        kind: "DestinationRule",
        spec: {
          host: "reviews",
          trafficPolicy: { loadBalancer: { consistentHash: { httpHeaderName: "x-user" } } },
        },
        status: { conditions: [{ type: "Accepted", status: "True" }] },
      },
    ];
    for (const doc of ok) expect(validate(doc), doc.kind).toEqual({ served: true, errors: [] });
  });
});
