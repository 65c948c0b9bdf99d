import { describe, expect, it } from "vitest";
import { resolveKind } from "./kinds.ts";
import { validateResource } from "./validate.ts";

const policy = (
  spec: unknown,
  metadata: Record<string, unknown> = { name: "httpbin", namespace: "foo" },
) => ({
  apiVersion: "security.istio.io/v1",
  kind: "AuthorizationPolicy",
  metadata,
  spec,
});

function errors(doc: unknown): { code: string; path: string; message: string }[] {
  return validateResource(doc).diagnostics.filter((d) => d.severity === "error");
}

describe("AuthorizationPolicy validation", () => {
  it("accepts Istio's reference example in v1 and v1beta1", () => {
    const spec = {
      action: "ALLOW",
      rules: [
        {
          from: [
            { source: { principals: ["cluster.local/ns/default/sa/sleep"] } },
            { source: { namespaces: ["test"] } },
          ],
          to: [
            { operation: { methods: ["GET"], paths: ["/info*"] } },
            { operation: { methods: ["POST"], paths: ["/data"] } },
          ],
          when: [{ key: "request.auth.claims[iss]", values: ["https://accounts.google.com"] }],
        },
      ],
    };
    expect(validateResource(policy(spec)).ok).toBe(true);
    expect(validateResource({ ...policy(spec), apiVersion: "security.istio.io/v1beta1" }).ok).toBe(true);
  });

  it("accepts spec: {} (deny all) and rules: [{}] (allow all)", () => {
    expect(validateResource(policy({})).ok).toBe(true);
    expect(validateResource(policy({ rules: [{}] })).ok).toBe(true);
  });

  it("resolves ap / authorizationpolicies / requestauthentications.security.istio.io", () => {
    expect(resolveKind("ap")).toBe("AuthorizationPolicy");
    expect(resolveKind("authorizationpolicies")).toBe("AuthorizationPolicy");
    expect(resolveKind("requestauthentications.security.istio.io")).toBe("RequestAuthentication");
  });

  it("refuses serviceAccounts together with namespaces or principals", () => {
    for (const other of [{ namespaces: ["foo"] }, { principals: ["cluster.local/ns/foo/sa/a"] }]) {
      const [d] = errors(
        policy({ rules: [{ from: [{ source: { serviceAccounts: ["foo/a"], ...other } }] }] }),
      );
      expect(d).toMatchObject({ code: "JIBE1022", path: "spec.rules[0].from[0].source.serviceAccounts" });
      expect(d?.message).toContain("cannot be used together with principals or namespaces");
    }
  });

  it("refuses a malformed service account, with the expected form", () => {
    const [d] = errors(policy({ rules: [{ from: [{ source: { serviceAccounts: ["sleep"] } }] }] }));
    expect(d).toMatchObject({ code: "JIBE1013", path: "spec.rules[0].from[0].source.serviceAccounts[0]" });
    expect(d?.message).toContain("<namespace>/<name>");
  });

  it("requires a provider for CUSTOM and refuses one for other actions", () => {
    expect(errors(policy({ action: "CUSTOM", rules: [{}] }))[0]).toMatchObject({
      code: "JIBE1012",
      path: "spec.provider",
    });
    expect(errors(policy({ action: "CUSTOM", provider: { name: "ext" } }))[0]).toMatchObject({
      code: "JIBE1012",
      path: "spec.rules",
    });
    expect(errors(policy({ action: "DENY", provider: { name: "ext" }, rules: [{}] }))[0]).toMatchObject({
      code: "JIBE1022",
      path: "spec.provider",
    });
    expect(validateResource(policy({ action: "CUSTOM", provider: { name: "ext" }, rules: [{}] })).ok).toBe(
      true,
    );
  });

  it("refuses selector together with targetRef, and targets of unsupported kinds or other namespaces", () => {
    const ref = { group: "gateway.networking.k8s.io", kind: "Gateway", name: "edge" };
    expect(errors(policy({ selector: { matchLabels: { app: "a" } }, targetRef: ref }))[0]).toMatchObject({
      code: "JIBE1022",
      path: "spec.targetRef",
    });
    expect(errors(policy({ targetRefs: [{ ...ref, kind: "HTTPRoute" }] }))[0]).toMatchObject({
      code: "JIBE1013",
      path: "spec.targetRefs[0].kind",
    });
    expect(errors(policy({ targetRef: { ...ref, namespace: "bar" } }))[0]).toMatchObject({
      path: "spec.targetRef.namespace",
    });
    expect(validateResource(policy({ targetRefs: [ref] })).ok).toBe(true);
  });

  it("enforces Istio's path template rules", () => {
    const paths = (p: string) => policy({ rules: [{ to: [{ operation: { paths: [p] } }] }] });
    for (const ok of ["/foo/{*}", "/foo/{**}/", "/foo/{*}/bar/{**}", "/info*", "*.html", "*"]) {
      expect(errors(paths(ok)), ok).toEqual([]);
    }
    for (const bad of ["/*/baz/{*}", "/**/baz/{*}", "/{**}/foo/{*}", "/foo/{*}.txt", "foo/{*}"]) {
      const [d] = errors(paths(bad));
      expect(d, bad).toMatchObject({ code: "JIBE1023", path: "spec.rules[0].to[0].operation.paths[0]" });
    }
  });

  it("refuses empty from/to, empty source/operation and empty values", () => {
    expect(errors(policy({ rules: [{ from: [] }] }))[0]).toMatchObject({ path: "spec.rules[0].from" });
    expect(errors(policy({ rules: [{ to: [{ operation: {} }] }] }))[0]).toMatchObject({
      code: "JIBE1012",
      path: "spec.rules[0].to[0].operation",
    });
    expect(errors(policy({ rules: [{ from: [{ source: { principals: [""] } }] }] }))[0]).toMatchObject({
      path: "spec.rules[0].from[0].source.principals[0]",
    });
  });

  it("checks IP blocks, ports and when keys and values", () => {
    expect(
      errors(policy({ rules: [{ from: [{ source: { ipBlocks: ["10.0.0.0/33"] } }] }] }))[0],
    ).toMatchObject({ code: "JIBE1024", path: "spec.rules[0].from[0].source.ipBlocks[0]" });
    expect(errors(policy({ rules: [{ to: [{ operation: { ports: ["http"] } }] }] }))[0]).toMatchObject({
      path: "spec.rules[0].to[0].operation.ports[0]",
    });
    expect(errors(policy({ rules: [{ when: [{ key: "request.body", values: ["x"] }] }] }))[0]).toMatchObject({
      code: "JIBE1026",
      path: "spec.rules[0].when[0].key",
    });
    expect(errors(policy({ rules: [{ when: [{ key: "source.ip", values: ["nope"] }] }] }))[0]).toMatchObject({
      code: "JIBE1024",
      path: "spec.rules[0].when[0].values[0]",
    });
    expect(errors(policy({ rules: [{ when: [{ key: "request.headers[x-token]" }] }] }))[0]).toMatchObject({
      code: "JIBE1012",
      path: "spec.rules[0].when[0]",
    });
  });

  it("names unknown fields and wrong actions like every other kind", () => {
    expect(errors(policy({ rules: [{ form: [] }] }))[0]).toMatchObject({
      code: "JIBE1011",
      path: "spec.rules[0].form",
    });
    expect(errors(policy({ action: "REJECT" }))[0]).toMatchObject({ code: "JIBE1013", path: "spec.action" });
  });

  it("checks the dry-run annotation value", () => {
    const doc = policy({}, { name: "a", annotations: { "istio.io/dry-run": "yes" } });
    expect(errors(doc)[0]).toMatchObject({
      code: "JIBE1006",
      path: 'metadata.annotations["istio.io/dry-run"]',
    });
  });
});

describe("RequestAuthentication validation", () => {
  const ra = (spec: unknown) => ({
    apiVersion: "security.istio.io/v1",
    kind: "RequestAuthentication",
    metadata: { name: "jwt", namespace: "foo" },
    spec,
  });

  it("accepts Istio's example", () => {
    const doc = ra({
      selector: { matchLabels: { app: "httpbin" } },
      jwtRules: [
        {
          issuer: "issuer-foo",
          jwksUri: "https://example.com/.well-known/jwks.json",
          fromHeaders: [{ name: "x-jwt-assertion", prefix: "Bearer " }],
          fromParams: ["my_token"],
          outputClaimToHeaders: [{ header: "x-sub", claim: "sub" }],
          timeout: "2s",
        },
      ],
    });
    expect(validateResource(doc)).toMatchObject({ ok: true });
  });

  it("refuses a missing issuer, both jwks and jwksUri, bad inline keys and bad URLs", () => {
    expect(errors(ra({ jwtRules: [{ jwksUri: "https://x/jwks" }] }))[0]).toMatchObject({
      code: "JIBE1012",
      path: "spec.jwtRules[0].issuer",
    });
    expect(errors(ra({ jwtRules: [{ issuer: "a", jwksUri: "https://x/j", jwks: "{}" }] }))[0]).toMatchObject({
      code: "JIBE1022",
    });
    expect(errors(ra({ jwtRules: [{ issuer: "a", jwks: "not json" }] }))[0]).toMatchObject({
      code: "JIBE1025",
      path: "spec.jwtRules[0].jwks",
    });
    expect(errors(ra({ jwtRules: [{ issuer: "a", jwksUri: "ftp://x" }] }))[0]).toMatchObject({
      code: "JIBE1025",
      path: "spec.jwtRules[0].jwksUri",
    });
    expect(errors(ra({ jwtRules: [{ issuer: "a" }] }))[0]?.message).toContain("set jwksUri or inline jwks");
  });

  it("refuses invalid header names in locations and outputs", () => {
    const [d] = errors(
      ra({ jwtRules: [{ issuer: "a", jwksUri: "https://x/j", fromHeaders: [{ name: "bad header" }] }] }),
    );
    expect(d).toMatchObject({ code: "JIBE1013", path: "spec.jwtRules[0].fromHeaders[0].name" });
  });
});
