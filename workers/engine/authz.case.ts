import { describe, expect, it } from "vitest";
import { gateway } from "../../control/compile/test-resources.ts";
import { ROOT_NAMESPACE } from "../../control/model/policy-target.ts";
import { authorizationPolicy as ap, authzFor, from, jwt, workload } from "./authz-fixtures.ts";
import { defineAuthzIndexCases } from "./authz-index.case.ts";
import { defineAuthzModeCases } from "./authz-modes.case.ts";
import { defineAuthzTaskCases } from "./authz-tasks.case.ts";

/**
 * AuthorizationPolicy behaviour, declared once and run in Node (`authz.test.ts`, the sidecar) and
 * workerd (`authz.worker.test.ts`, the edge). Cases follow the examples of Istio's
 * AuthorizationPolicy reference and security tasks; each compiles real resources with `compile()`
 * and asks "may this request pass?".
 */

const httpbin = workload("httpbin", "foo");
const sleepFoo = from("foo", "sleep");

/** Declares the authz behaviour suite (call inside a test file). */
export function defineAuthzSuite(): void {
  describe("authz: Istio reference examples", () => {
    it("no policy: everything is allowed", () => {
      const { may, decide } = authzFor([], httpbin);
      expect(may({ method: "DELETE", path: "/anything" })).toBe(true);
      expect(decide({}).reason).toBe("no-policy");
    });

    it("ALLOW sleep or namespace test, GET /info* or POST /data, with a Google-issued JWT", () => {
      const { may, decide } = authzFor(
        [
          ap("httpbin", "foo", {
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
          }),
        ],
        httpbin,
      );
      const google = jwt("https://accounts.google.com", "alice");
      expect(may({ ...from("default", "sleep"), ...google, path: "/info/x" })).toBe(true);
      expect(may({ ...from("test", "anyone"), ...google, method: "POST", path: "/data" })).toBe(true);
      expect(decide({ ...from("test", "x"), ...google, method: "POST", path: "/data" }).match).toEqual({
        policy: "AuthorizationPolicy/foo/httpbin",
        rule: 0,
      });
      // Everything else is denied: wrong caller, wrong operation, wrong issuer, no JWT.
      expect(may({ ...from("default", "other"), ...google, path: "/info" })).toBe(false);
      expect(may({ ...from("default", "sleep"), ...google, method: "POST", path: "/info" })).toBe(false);
      expect(may({ ...from("default", "sleep"), ...jwt("https://evil", "a"), path: "/info" })).toBe(false);
      expect(may({ ...from("default", "sleep"), path: "/info" })).toBe(false);
      expect(decide({ path: "/info" }).reason).toBe("no-allow-match");
    });

    it("DENY POST from namespace dev; everything else allowed", () => {
      const { may, decide } = authzFor(
        [
          ap("httpbin", "foo", {
            action: "DENY",
            rules: [
              { from: [{ source: { namespaces: ["dev"] } }], to: [{ operation: { methods: ["POST"] } }] },
            ],
          }),
        ],
        httpbin,
      );
      expect(may({ ...from("dev", "a"), method: "POST" })).toBe(false);
      expect(decide({ ...from("dev", "a"), method: "POST" })).toMatchObject({
        reason: "deny",
        match: { policy: "AuthorizationPolicy/foo/httpbin", rule: 0 },
      });
      expect(may({ ...from("dev", "a"), method: "GET" })).toBe(true);
      expect(may({ ...from("prod", "a"), method: "POST" })).toBe(true);
      expect(decide({ ...from("prod", "a") }).reason).toBe("no-allow-policy");
    });

    it("spec: {} denies everything; rules: [{}] allows everything", () => {
      expect(authzFor([ap("allow-nothing", "foo", {})], httpbin).may({})).toBe(false);
      const both = authzFor(
        [ap("allow-nothing", "foo", {}), ap("allow-all", "foo", { rules: [{}] })],
        httpbin,
      );
      expect(both.may({ method: "DELETE", path: "/x" })).toBe(true);
      expect(both.decide({}).match).toEqual({ policy: "AuthorizationPolicy/foo/allow-all", rule: 0 });
    });

    it("DENY with rules: [{}] denies all, even when an ALLOW policy matches", () => {
      const { may } = authzFor(
        [ap("allow-all", "foo", { rules: [{}] }), ap("deny-all", "foo", { action: "DENY", rules: [{}] })],
        httpbin,
      );
      expect(may({})).toBe(false);
    });

    it("AUDIT marks matching requests and never changes the decision", () => {
      const audit = ap("audit", "foo", {
        selector: { matchLabels: { app: "httpbin" } },
        action: "AUDIT",
        rules: [{ to: [{ operation: { methods: ["GET"], paths: ["/user/profile/*"] } }] }],
      });
      const open = authzFor([audit], httpbin);
      expect(open.decide({ path: "/user/profile/1" })).toMatchObject({
        allowed: true,
        audit: { policy: "AuthorizationPolicy/foo/audit", rule: 0 },
      });
      expect(open.decide({ path: "/other" }).audit).toBeUndefined();
      const closed = authzFor([audit, ap("deny-all", "foo", {})], httpbin);
      expect(closed.decide({ path: "/user/profile/1" })).toMatchObject({
        allowed: false,
        audit: { rule: 0 },
      });
    });

    it("CUSTOM naming a provider mesh config lacks denies what it matches (fails closed)", () => {
      const { decide, snapshot } = authzFor(
        [
          ap("ext-authz", "foo", {
            action: "CUSTOM",
            provider: { name: "my-custom-authz" },
            rules: [{ to: [{ operation: { paths: ["/admin/*"] } }] }],
          }),
          ap("allow-all", "foo", { rules: [{}] }),
        ],
        httpbin,
      );
      expect(decide({ path: "/admin/users" })).toMatchObject({
        allowed: false,
        match: { policy: "AuthorizationPolicy/foo/ext-authz" },
      });
      const custom = snapshot.authz?.policies.find((p) => p.ref === "AuthorizationPolicy/foo/ext-authz");
      expect(custom?.failClosed).toContain('"my-custom-authz" is not defined');
      expect(decide({ path: "/public" }).allowed).toBe(true);
    });

    it("selector: applies only to workloads with those labels, in the policy's namespace", () => {
      const policy = ap("httpbin-v1", "bar", {
        selector: { matchLabels: { app: "httpbin", version: "v1" } },
        rules: [
          {
            from: [{ source: { principals: ["cluster.local/ns/default/sa/sleep"] } }],
            to: [{ operation: { methods: ["GET"] } }],
            when: [{ key: "request.headers[version]", values: ["v1", "v2"] }],
          },
        ],
      });
      const barV1 = authzFor([policy], workload("httpbin", "bar"));
      const sleep = from("default", "sleep");
      expect(barV1.may({ ...sleep, headers: { version: "v2" } })).toBe(true);
      expect(barV1.may({ ...sleep, headers: { version: "v3" } })).toBe(false);
      expect(barV1.may({ ...sleep, headers: {} })).toBe(false);
      expect(authzFor([policy], workload("httpbin", "bar", { version: "v2" })).may({})).toBe(true);
      expect(authzFor([policy], workload("reviews", "bar")).may({})).toBe(true);
      expect(authzFor([policy], workload("httpbin", "foo")).may({})).toBe(true);
    });

    it(`root namespace (${ROOT_NAMESPACE}) policies apply mesh-wide; namespace policies to their namespace`, () => {
      const meshDenyAll = ap("allow-nothing", ROOT_NAMESPACE, {});
      expect(authzFor([meshDenyAll], httpbin).may({})).toBe(false);
      expect(authzFor([meshDenyAll], workload("reviews", "default")).may({})).toBe(false);
      expect(authzFor([meshDenyAll], gateway(["default/jibe-edge"])).may({})).toBe(false);
      // Namespace policy: only its namespace (gateways in it included).
      const fooOnly = ap("allow-nothing", "foo", {});
      expect(authzFor([fooOnly], workload("reviews", "default")).may({})).toBe(true);
      expect(authzFor([fooOnly], gateway(["foo/edge"], "foo")).may({})).toBe(false);
      // Root-namespace selector: matching workloads in every namespace.
      const rootSelector = ap("httpbin-only", ROOT_NAMESPACE, {
        selector: { matchLabels: { app: "httpbin" } },
      });
      expect(authzFor([rootSelector], workload("httpbin", "bar")).may({})).toBe(false);
      expect(authzFor([rootSelector], workload("reviews", "bar")).may({})).toBe(true);
      // Root, namespace and workload policies all apply: a workload ALLOW grants, a mesh DENY still wins.
      const layered = authzFor(
        [
          meshDenyAll,
          ap("get-ok", "foo", {
            selector: { matchLabels: { app: "httpbin" } },
            rules: [{ to: [{ operation: { methods: ["GET"] } }] }],
          }),
          ap("no-admin", ROOT_NAMESPACE, {
            action: "DENY",
            rules: [{ to: [{ operation: { paths: ["/admin*"] } }] }],
          }),
        ],
        httpbin,
      );
      expect(layered.may({ method: "GET", path: "/ok" })).toBe(true);
      expect(layered.may({ method: "POST", path: "/ok" })).toBe(false);
      expect(layered.decide({ method: "GET", path: "/admin/x" }).match?.policy).toBe(
        `AuthorizationPolicy/${ROOT_NAMESPACE}/no-admin`,
      );
    });

    it("targetRefs: Gateway applies to the gateway proxy implementing it, not to sidecars", () => {
      const policy = ap("edge-ip", "default", {
        targetRefs: [{ group: "gateway.networking.k8s.io", kind: "Gateway", name: "jibe-edge" }],
        rules: [{ from: [{ source: { ipBlocks: ["1.2.3.4", "5.6.7.0/24"] } }] }],
      });
      const edge = authzFor([policy], gateway(["default/jibe-edge"]));
      expect(edge.may({ sourceIp: "1.2.3.4" })).toBe(true);
      expect(edge.may({ sourceIp: "5.6.7.200" })).toBe(true);
      expect(edge.may({ sourceIp: "9.9.9.9" })).toBe(false);
      expect(authzFor([policy], gateway(["default/other"])).may({ sourceIp: "9.9.9.9" })).toBe(true);
      expect(authzFor([policy], workload("httpbin", "default")).may({ sourceIp: "9.9.9.9" })).toBe(true);
    });

    it("ipBlocks read the peer address; remoteIpBlocks the original client (X-Forwarded-For)", () => {
      const { may } = authzFor(
        [ap("ingress", "foo", { rules: [{ from: [{ source: { remoteIpBlocks: ["203.0.113.0/24"] } }] }] })],
        httpbin,
      );
      expect(may({ sourceIp: "10.0.0.1", remoteIp: "203.0.113.9" })).toBe(true);
      expect(may({ sourceIp: "203.0.113.9", remoteIp: "10.0.0.1" })).toBe(false);
      const deny = authzFor(
        [
          ap("deny-ip", "foo", {
            action: "DENY",
            rules: [{ from: [{ source: { notIpBlocks: ["10.0.0.0/8"] } }] }],
          }),
        ],
        httpbin,
      );
      expect(deny.may({ sourceIp: "10.1.2.3" })).toBe(true);
      expect(deny.may({ sourceIp: "192.168.0.1" })).toBe(false);
      expect(deny.may({ sourceIp: "::ffff:10.1.2.3" })).toBe(true);
    });

    it("DENY requests not from namespace foo (notNamespaces); plaintext peers have no namespace", () => {
      const { may } = authzFor(
        [
          ap("deny-others", "foo", {
            action: "DENY",
            rules: [{ from: [{ source: { notNamespaces: ["foo"] } }] }],
          }),
        ],
        httpbin,
      );
      expect(may(sleepFoo)).toBe(true);
      expect(may(from("bar", "sleep"))).toBe(false);
      expect(may({})).toBe(false);
    });

    it("serviceAccounts match <namespace>/<name> of the peer", () => {
      const { may } = authzFor(
        [
          ap("sa", "foo", {
            rules: [{ from: [{ source: { serviceAccounts: ["foo/sleep", "bar/curl"] } }] }],
          }),
        ],
        httpbin,
      );
      expect(may(sleepFoo)).toBe(true);
      expect(may(from("bar", "curl"))).toBe(true);
      expect(may(from("bar", "sleep"))).toBe(false);
      expect(may({})).toBe(false);
    });

    it("principals match exact, prefix, suffix and * (any authenticated peer)", () => {
      const allow = (principals: string[]) =>
        authzFor([ap("p", "foo", { rules: [{ from: [{ source: { principals } }] }] })], httpbin).may;
      expect(allow(["*"])(sleepFoo)).toBe(true);
      expect(allow(["*"])({})).toBe(false);
      expect(allow(["cluster.local/ns/foo/*"])(sleepFoo)).toBe(true);
      expect(allow(["*/sa/sleep"])(from("bar", "sleep"))).toBe(true);
      expect(allow(["*/sa/sleep"])(from("bar", "curl"))).toBe(false);
      expect(
        allow(["cluster.local/ns/foo/sa/sleep"])({
          peer: { principal: "spiffe://cluster.local/ns/foo/sa/sleep" },
        }),
      ).toBe(true);
    });

    it("hosts (case-insensitive, with or without port), ports, methods and not* forms", () => {
      const { may } = authzFor(
        [
          ap("op", "foo", {
            rules: [
              {
                to: [
                  {
                    operation: {
                      hosts: ["httpbin.foo", "*.example.com"],
                      ports: ["8000"],
                      notMethods: ["DELETE"],
                      notPaths: ["/private*"],
                    },
                  },
                ],
              },
            ],
          }),
        ],
        httpbin,
      );
      expect(may({ host: "HTTPBIN.foo:8000" })).toBe(true);
      expect(may({ host: "api.example.com" })).toBe(true);
      expect(may({ host: "other.foo" })).toBe(false);
      expect(may({ destinationPort: 9000 })).toBe(false);
      expect(may({ method: "DELETE" })).toBe(false);
      expect(may({ path: "/private/x" })).toBe(false);
    });

    it("exact principals, namespaces and hosts (indexed) and globs decide alike, first policy in order", () => {
      const { decide, may } = authzFor(
        [
          ap("a-glob", "foo", { rules: [{ from: [{ source: { principals: ["*/sa/sleep"] } }] }] }),
          ap("b-exact", "foo", {
            rules: [{ from: [{ source: { principals: ["cluster.local/ns/foo/sa/sleep"] } }] }],
          }),
          ap("c-ns", "foo", {
            rules: [{ from: [{ source: { namespaces: ["bar"] } }, { source: { namespaces: ["baz"] } }] }],
          }),
          ap("d-host", "foo", { rules: [{ to: [{ operation: { hosts: ["Api.Example.com"] } }] }] }),
        ],
        httpbin,
      );
      expect(decide(sleepFoo).match?.policy).toBe("AuthorizationPolicy/foo/a-glob");
      expect(decide(from("baz", "x")).match?.policy).toBe("AuthorizationPolicy/foo/c-ns");
      expect(decide({ host: "api.example.COM:443" }).match?.policy).toBe("AuthorizationPolicy/foo/d-host");
      expect(may({ host: "other.example.com", ...from("qux", "x") })).toBe(false);
      const globs = authzFor(
        [
          ap("team", "foo", { rules: [{ from: [{ source: { principals: ["cluster.local/ns/team/*"] } }] }] }),
          ap("wild", "foo", { rules: [{ to: [{ operation: { hosts: ["*.Example.com"] } }] }] }),
        ],
        httpbin,
      );
      expect(globs.decide(from("team", "a")).match?.policy).toBe("AuthorizationPolicy/foo/team");
      expect(globs.may(from("team-b", "a"))).toBe(false);
      expect(globs.decide({ host: "a.b.example.com:8443" }).match?.policy).toBe(
        "AuthorizationPolicy/foo/wild",
      );
      expect(globs.may({ host: "example.com" })).toBe(false);
    });

    it("paths: exact, prefix, suffix, {*} and {**} templates, on the normalised path without query", () => {
      const allow = (paths: string[]) =>
        authzFor([ap("p", "foo", { rules: [{ to: [{ operation: { paths } }] }] })], httpbin).may;
      expect(allow(["/data"])({ path: "/data?x=1" })).toBe(true);
      expect(allow(["/data"])({ path: "/data/" })).toBe(false);
      expect(allow(["*.html"])({ path: "/a/index.html" })).toBe(true);
      expect(allow(["/foo/{*}"])({ path: "/foo/bar" })).toBe(true);
      expect(allow(["/foo/{*}"])({ path: "/foo/bar/baz" })).toBe(false);
      expect(allow(["/foo/{*}/bar/{**}"])({ path: "/foo/buzz/bar/baz/qux" })).toBe(true);
      expect(allow(["/foo/{**}/"])({ path: "/foo/bar" })).toBe(false);
      // A DENY on /admin cannot be dodged with dot segments or encoded letters.
      const guarded = authzFor(
        [ap("no-admin", "foo", { action: "DENY", rules: [{ to: [{ operation: { paths: ["/admin*"] } }] }] })],
        httpbin,
      ).may;
      expect(guarded({ path: "/public/../admin/x" })).toBe(false);
      expect(guarded({ path: "/%61dmin" })).toBe(false);
      expect(guarded({ path: "/./admin" })).toBe(false);
      expect(guarded({ path: "/public" })).toBe(true);
    });

    it("when: source.ip, remote.ip, destination.ip, destination.port, connection.sni, source.namespace/principal", () => {
      const when = (key: string, values: string[], notValues?: string[]) =>
        authzFor(
          [ap("w", "foo", { rules: [{ when: [{ key, values, ...(notValues ? { notValues } : {}) }] }] })],
          httpbin,
        ).may;
      expect(when("source.ip", ["10.0.0.0/24"])({ sourceIp: "10.0.0.9" })).toBe(true);
      expect(when("source.ip", ["10.0.1.0/24"])({ sourceIp: "10.0.0.9" })).toBe(false);
      expect(when("remote.ip", ["203.0.113.1"])({ remoteIp: "203.0.113.1" })).toBe(true);
      expect(when("destination.ip", ["127.0.0.1"])({ destinationIp: "127.0.0.1" })).toBe(true);
      expect(when("destination.port", ["8000"])({})).toBe(true);
      expect(when("destination.port", ["9000"])({})).toBe(false);
      expect(
        when("connection.sni", ["*.foo.svc.cluster.local"])({
          sni: "outbound_.8000_._.httpbin.foo.svc.cluster.local",
        }),
      ).toBe(true);
      expect(when("source.namespace", ["foo"])(sleepFoo)).toBe(true);
      expect(when("source.principal", ["cluster.local/ns/foo/sa/sleep"])(sleepFoo)).toBe(true);
      expect(when("source.namespace", ["foo"])({})).toBe(false);
      expect(when("request.headers[x-env]", ["*"], ["prod"])({ headers: { "x-env": "dev" } })).toBe(true);
      expect(when("request.headers[x-env]", ["*"], ["prod"])({ headers: { "x-env": "prod" } })).toBe(false);
    });

    it("when: request.auth.principal, audiences, presenter and claims incl. lists and nested claims", () => {
      const when = (key: string, values: string[]) =>
        authzFor([ap("w", "foo", { rules: [{ when: [{ key, values }] }] })], httpbin).may;
      const token = jwt(
        "testing@secure.istio.io",
        "alice",
        { groups: ["group1", "group2"], nested: { key1: ["valueA"] }, azp: "web" },
        ["httpbin"],
      );
      token.request!.presenter = "web";
      expect(when("request.auth.principal", ["testing@secure.istio.io/alice"])(token)).toBe(true);
      expect(when("request.auth.audiences", ["httpbin"])(token)).toBe(true);
      expect(when("request.auth.audiences", ["other"])(token)).toBe(false);
      expect(when("request.auth.presenter", ["web"])(token)).toBe(true);
      expect(when("request.auth.claims[groups]", ["group1"])(token)).toBe(true);
      expect(when("request.auth.claims[groups]", ["group3"])(token)).toBe(false);
      expect(when("request.auth.claims[nested][key1]", ["valueA"])(token)).toBe(true);
      expect(when("request.auth.claims[nested][key2]", ["valueA"])(token)).toBe(false);
      expect(when("request.auth.claims[groups]", ["group1"])({})).toBe(false);
    });

    it("requestPrincipals: a JWT is required only by policy; * means any valid JWT", () => {
      const requireJwt = authzFor(
        [ap("require-jwt", "foo", { rules: [{ from: [{ source: { requestPrincipals: ["*"] } }] }] })],
        httpbin,
      );
      expect(requireJwt.may(jwt("testing@secure.istio.io", "testing@secure.istio.io"))).toBe(true);
      expect(requireJwt.may({})).toBe(false);
      const exact = authzFor(
        [
          ap("require-jwt", "foo", {
            rules: [
              {
                from: [
                  { source: { requestPrincipals: ["testing@secure.istio.io/testing@secure.istio.io"] } },
                ],
              },
            ],
          }),
        ],
        httpbin,
      );
      expect(exact.may(jwt("testing@secure.istio.io", "testing@secure.istio.io"))).toBe(true);
      expect(exact.may(jwt("testing@secure.istio.io", "mallory"))).toBe(false);
      const deny = authzFor(
        [
          ap("deny-anonymous", "foo", {
            action: "DENY",
            rules: [{ from: [{ source: { notRequestPrincipals: ["*"] } }] }],
          }),
        ],
        httpbin,
      );
      expect(deny.may({})).toBe(false);
      expect(deny.may(jwt("a", "b"))).toBe(true);
    });
  });

  defineAuthzModeCases();
  defineAuthzTaskCases();
  defineAuthzIndexCases();
}
