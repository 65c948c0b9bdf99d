import { describe, expect, it } from "vitest";
import type { Diagnostic } from "../compile/snapshot.ts";
import { validateDocuments, validateResource } from "./validate.ts";

const vs = (spec: unknown, metadata: Record<string, unknown> = { name: "reviews" }) => ({
  apiVersion: "networking.istio.io/v1",
  kind: "VirtualService",
  metadata,
  spec,
});
const route = (host: string, extra: Record<string, unknown> = {}) => ({ destination: { host }, ...extra });

function errors(doc: unknown): Diagnostic[] {
  const result = validateResource(doc);
  return result.diagnostics.filter((d) => d.severity === "error");
}

describe("validateResource", () => {
  it("accepts a VirtualService and defaults the namespace", () => {
    const result = validateResource(vs({ hosts: ["reviews"], http: [{ route: [route("reviews")] }] }));
    expect(result.ok).toBe(true);
    if (result.ok) expect(result.resource.metadata).toEqual({ name: "reviews", namespace: "default" });
  });

  it.each(["networking.istio.io/v1beta1", "networking.istio.io/v1alpha3"])(
    "accepts apiVersion %s",
    (apiVersion) => {
      expect(
        validateResource({ ...vs({ hosts: ["r"], http: [{ route: [route("r")] }] }), apiVersion }).ok,
      ).toBe(true);
    },
  );

  it("rejects a wrong apiVersion, naming the accepted ones", () => {
    const [d] = errors({ ...vs({ hosts: ["r"], http: [{ route: [route("r")] }] }), apiVersion: "v1" });
    expect(d).toMatchObject({ code: "JIBE1005", path: "apiVersion" });
    expect(d?.message).toContain("networking.istio.io/v1");
  });

  it("names the supported kinds for an unknown kind", () => {
    const [d] = errors({ apiVersion: "x/v1", kind: "Frobnicator", metadata: { name: "a" }, spec: {} });
    expect(d).toMatchObject({ code: "JIBE1003", resource: "Frobnicator/default/a" });
    expect(d?.message).toContain("VirtualService, DestinationRule, WorkloadEntry, Service");
  });

  it("says 'not supported yet' for known kinds Jibe does not handle", () => {
    for (const kind of ["EnvoyFilter", "WorkloadGroup"]) {
      const [d] = errors({ apiVersion: "networking.istio.io/v1", kind, metadata: { name: "a" }, spec: {} });
      expect(d?.code).toBe("JIBE1004");
      expect(d?.message).toMatch(
        new RegExp(`kind ${kind} .* is not supported yet; supported kinds: VirtualService`),
      );
    }
  });

  it("suggests the right spelling of a kind", () => {
    const [d] = errors({
      apiVersion: "networking.istio.io/v1",
      kind: "virtualservice",
      metadata: { name: "a" },
      spec: {},
    });
    expect(d?.message).toContain('did you mean "VirtualService"');
  });

  it("reports a wrong field type with its path and the expected type", () => {
    const [d] = errors(vs({ hosts: ["reviews"], http: [{ route: [route("reviews", { weight: "80" })] }] }));
    expect(d).toMatchObject({
      code: "JIBE1010",
      path: "spec.http[0].route[0].weight",
      resource: "VirtualService/default/reviews",
    });
    expect(d?.message).toContain("must be a number");
  });

  it("rejects unknown fields like Istio, with a did-you-mean hint", () => {
    const [d] = errors(vs({ hosts: ["reviews"], http: [{ route: [route("reviews", { weigth: 100 })] }] }));
    expect(d).toMatchObject({ code: "JIBE1011", path: "spec.http[0].route[0].weigth" });
    expect(d?.message).toContain('did you mean "weight"');
  });

  it("reports missing required fields", () => {
    const [d] = errors(vs({ hosts: ["reviews"], http: [{ route: [{ destination: {} }] }] }));
    expect(d).toMatchObject({ code: "JIBE1012", path: "spec.http[0].route[0].destination.host" });
  });

  it("follows Istio's weight rules: relative weights are fine, negative or all-zero are not", () => {
    const two = (a: number, b: number) =>
      vs({ hosts: ["r"], http: [{ route: [route("r", { weight: a }), route("r2", { weight: b })] }] });
    expect(validateResource(two(2, 1)).ok).toBe(true);
    expect(errors(two(-1, 101))[0]).toMatchObject({ code: "JIBE1015", path: "spec.http[0].route[0].weight" });
    expect(errors(two(0, 0))[0]).toMatchObject({ code: "JIBE1015", path: "spec.http[0].route" });
  });

  it("requires regexes to compile and stay within RE2", () => {
    const withUri = (regex: string) =>
      vs({ hosts: ["r"], http: [{ match: [{ uri: { regex } }], route: [route("r")] }] });
    expect(validateResource(withUri("/api/v[0-9]+/.*")).ok).toBe(true);
    expect(errors(withUri("/api/(v1"))[0]).toMatchObject({
      code: "JIBE1014",
      path: "spec.http[0].match[0].uri.regex",
    });
    expect(errors(withUri("/(?=secret)"))[0]?.message).toContain("lookahead");
  });

  it("requires exactly one action per rule", () => {
    expect(errors(vs({ hosts: ["r"], http: [{ match: [{ uri: { prefix: "/" } }] }] }))[0]?.code).toBe(
      "JIBE1016",
    );
    const both = errors(
      vs({ hosts: ["r"], http: [{ route: [route("r")], directResponse: { status: 200 } }] }),
    );
    expect(both[0]?.message).toContain("route and directResponse");
  });

  it("refuses host * for mesh VirtualServices but allows it on a gateway", () => {
    const http = [{ route: [route("productpage")] }];
    expect(errors(vs({ hosts: ["*"], http }))[0]?.code).toBe("JIBE1017");
    expect(validateResource(vs({ hosts: ["*"], gateways: ["bookinfo-gateway"], http })).ok).toBe(true);
  });

  it("says delegate VirtualServices are not supported yet", () => {
    const [d] = errors(vs({ hosts: ["r"], http: [{ delegate: { name: "x" } }] }));
    expect(d).toMatchObject({ code: "JIBE1016", path: "spec.http[0].delegate" });
  });

  it("checks durations like Istio (unit required, >= 1ms)", () => {
    const withTimeout = (timeout: string) => vs({ hosts: ["r"], http: [{ route: [route("r")], timeout }] });
    expect(validateResource(withTimeout("1.5s")).ok).toBe(true);
    expect(errors(withTimeout("10"))[0]).toMatchObject({ code: "JIBE1019", path: "spec.http[0].timeout" });
    expect(errors(withTimeout("0s"))[0]?.code).toBe("JIBE1019");
  });

  it("gives a DNS-1123 fix hint for a bad name", () => {
    const [d] = errors(vs({ hosts: ["r"], http: [{ route: [route("r")] }] }, { name: "Reviews_V1" }));
    expect(d).toMatchObject({ code: "JIBE1006", path: "metadata.name" });
    expect(d?.message).toContain('e.g. "reviews-v1"');
  });

  it("requires metadata.name", () => {
    const [d] = errors(vs({ hosts: ["r"], http: [{ route: [route("r")] }] }, { namespace: "x" }));
    expect(d).toMatchObject({ code: "JIBE1006", path: "metadata.name" });
  });

  it("validates Services like Kubernetes: named ports when several, valid targetPort", () => {
    const svc = (ports: unknown) => ({
      apiVersion: "v1",
      kind: "Service",
      metadata: { name: "reviews" },
      spec: { selector: { app: "reviews" }, ports },
    });
    expect(validateResource(svc([{ name: "http", port: 9080, targetPort: 8080 }])).ok).toBe(true);
    expect(errors(svc([{ port: 80 }, { port: 81 }]))[0]).toMatchObject({
      code: "JIBE1012",
      path: "spec.ports[0].name",
    });
    expect(errors(svc([{ name: "http", port: 70000 }]))[0]).toMatchObject({
      code: "JIBE1013",
      path: "spec.ports[0].port",
    });
  });

  it("validates WorkloadEntries: address required, port names and numbers", () => {
    const we = (spec: unknown) => ({
      apiVersion: "networking.istio.io/v1",
      kind: "WorkloadEntry",
      metadata: { name: "r1" },
      spec,
    });
    expect(
      validateResource(we({ address: "127.0.0.1", ports: { http: 19080 }, labels: { app: "reviews" } })).ok,
    ).toBe(true);
    expect(errors(we({ ports: { http: 1 } }))[0]).toMatchObject({ code: "JIBE1012", path: "spec.address" });
    expect(errors(we({ address: "10.0.0.1", ports: { http: 0 } }))[0]).toMatchObject({
      path: "spec.ports.http",
    });
  });

  it("rejects duplicate DestinationRule subsets", () => {
    const dr = {
      apiVersion: "networking.istio.io/v1",
      kind: "DestinationRule",
      metadata: { name: "r" },
      spec: { host: "r", subsets: [{ name: "v1" }, { name: "v1" }] },
    };
    expect(errors(dr)[0]).toMatchObject({ code: "JIBE1018", path: "spec.subsets[1].name" });
  });

  it("requires sniHosts on every tls route match, as Istio does", () => {
    const tls = (match: unknown) =>
      vs({
        hosts: ["db.example.com"],
        gateways: ["gw"],
        tls: [{ ...(match ? { match } : {}), route: [route("db")] }],
      });
    expect(errors(tls([{ sniHosts: ["db.example.com"] }]))).toEqual([]);
    expect(errors(tls(undefined)).map((d) => d.path)).toEqual(["spec.tls[0].match"]);
    expect(errors(tls([{ port: 443 }])).map((d) => d.path)).toEqual(["spec.tls[0].match[0].sniHosts"]);
  });

  it("keeps Kubernetes server fields out of the stored resource", () => {
    const result = validateResource(
      vs(
        { hosts: ["r"], http: [{ route: [route("r")] }] },
        { name: "r", uid: "x", resourceVersion: "7", creationTimestamp: null },
      ),
    );
    expect(result.ok && result.resource.metadata).toEqual({ name: "r", namespace: "default" });
  });
});

describe("validateDocuments", () => {
  it("reports a resource given twice", () => {
    const doc = vs({ hosts: ["r"], http: [{ route: [route("r")] }] });
    const { resources, diagnostics } = validateDocuments([doc, doc]);
    expect(resources).toHaveLength(1);
    expect(diagnostics[0]).toMatchObject({ code: "JIBE1018", severity: "error" });
  });
});
