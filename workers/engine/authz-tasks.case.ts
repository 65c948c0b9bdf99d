import { describe, expect, it } from "vitest";
import { gateway } from "../../control/compile/test-resources.ts";
import { authorizationPolicy as ap, authzFor, from, jwt, workload } from "./authz-fixtures.ts";

/**
 * Istio's authorization tasks (HTTP traffic on bookinfo, explicit deny, ingress IP lists) and the
 * examples of the reference pages' field and condition tables, as behaviour; part of the shared
 * authz suite run in Node and workerd.
 */

const productpage = workload("productpage", "default");
const details = workload("details", "default");
const ratings = workload("ratings", "default");
const httpbin = workload("httpbin", "foo");
const sa = (name: string) => from("default", name);

/** Declares the task cases. */
export function defineAuthzTaskCases(): void {
  describe("authz: Istio tasks", () => {
    it("HTTP traffic task (bookinfo): allow-nothing, then one viewer policy per service", () => {
      const policies = [
        ap("allow-nothing", "default", {}),
        ap("productpage-viewer", "default", {
          selector: { matchLabels: { app: "productpage" } },
          action: "ALLOW",
          rules: [{ to: [{ operation: { methods: ["GET"] } }] }],
        }),
        ap("details-viewer", "default", {
          selector: { matchLabels: { app: "details" } },
          action: "ALLOW",
          rules: [
            {
              from: [{ source: { principals: ["cluster.local/ns/default/sa/bookinfo-productpage"] } }],
              to: [{ operation: { methods: ["GET"] } }],
            },
          ],
        }),
        ap("ratings-viewer", "default", {
          selector: { matchLabels: { app: "ratings" } },
          action: "ALLOW",
          rules: [
            {
              from: [{ source: { principals: ["cluster.local/ns/default/sa/bookinfo-reviews"] } }],
              to: [{ operation: { methods: ["GET"] } }],
            },
          ],
        }),
      ];
      expect(authzFor([policies[0]!], productpage).may({ path: "/productpage" })).toBe(false);
      const page = authzFor(policies, productpage);
      expect(page.may({ path: "/productpage" })).toBe(true);
      expect(page.may({ method: "POST", path: "/productpage" })).toBe(false);
      const detailsView = authzFor(policies, details);
      expect(detailsView.may({ ...sa("bookinfo-productpage"), path: "/details/0" })).toBe(true);
      expect(detailsView.may({ ...sa("sleep"), path: "/details/0" })).toBe(false);
      expect(detailsView.may({ path: "/details/0" })).toBe(false);
      const ratingsView = authzFor(policies, ratings);
      expect(ratingsView.may({ ...sa("bookinfo-reviews"), path: "/ratings/0" })).toBe(true);
      expect(ratingsView.may({ ...sa("bookinfo-productpage"), path: "/ratings/0" })).toBe(false);
    });

    it("explicit deny task: deny-method-get, unless x-token: admin, plus allow-path-ip", () => {
      const denyGet = ap("deny-method-get", "foo", {
        selector: { matchLabels: { app: "httpbin" } },
        action: "DENY",
        rules: [{ to: [{ operation: { methods: ["GET"] } }] }],
      });
      const onlyGet = authzFor([denyGet], httpbin);
      expect(onlyGet.may({ path: "/get" })).toBe(false);
      expect(onlyGet.may({ method: "POST", path: "/post" })).toBe(true);
      const unlessAdmin = ap("deny-method-get", "foo", {
        selector: { matchLabels: { app: "httpbin" } },
        action: "DENY",
        rules: [
          {
            to: [{ operation: { methods: ["GET"] } }],
            when: [{ key: "request.headers[x-token]", notValues: ["admin"] }],
          },
        ],
      });
      const admin = { headers: { "x-token": "admin" } };
      const guest = { headers: { "x-token": "guest" } };
      const withToken = authzFor([unlessAdmin], httpbin);
      expect(withToken.may({ ...admin, path: "/get" })).toBe(true);
      expect(withToken.may({ ...guest, path: "/get" })).toBe(false);
      const allowIp = ap("allow-path-ip", "foo", {
        selector: { matchLabels: { app: "httpbin" } },
        action: "ALLOW",
        rules: [{ to: [{ operation: { paths: ["/ip"] } }] }],
      });
      const both = authzFor([unlessAdmin, allowIp], httpbin);
      expect(both.may({ ...admin, path: "/ip" })).toBe(true);
      expect(both.may({ ...guest, path: "/ip" })).toBe(false);
      expect(both.may({ ...admin, path: "/get" })).toBe(false);
    });

    it("ingress task: ALLOW or DENY client IP lists on the gateway (ipBlocks, remoteIpBlocks)", () => {
      const edge = gateway(["istio-system/ingressgateway"], "istio-system");
      const target = {
        targetRefs: [{ kind: "Gateway", group: "gateway.networking.k8s.io", name: "ingressgateway" }],
      };
      const allow = authzFor(
        [
          ap("ingress-policy", "istio-system", {
            ...target,
            action: "ALLOW",
            rules: [{ from: [{ source: { ipBlocks: ["1.2.3.4", "5.6.7.0/24"] } }] }],
          }),
        ],
        edge,
      );
      expect(allow.may({ sourceIp: "1.2.3.4" })).toBe(true);
      expect(allow.may({ sourceIp: "5.6.7.8" })).toBe(true);
      expect(allow.may({ sourceIp: "9.9.9.9" })).toBe(false);
      const deny = authzFor(
        [
          ap("ingress-policy", "istio-system", {
            ...target,
            action: "DENY",
            rules: [{ from: [{ source: { remoteIpBlocks: ["1.2.3.4"] } }] }],
          }),
        ],
        edge,
      );
      // remote.ip is the original client (X-Forwarded-For / CF-Connecting-IP as the proxy trusts it).
      expect(deny.may({ sourceIp: "10.0.0.1", remoteIp: "1.2.3.4" })).toBe(false);
      expect(deny.may({ sourceIp: "1.2.3.4", remoteIp: "8.8.8.8" })).toBe(true);
    });
  });

  describe("authz: reference field and condition examples", () => {
    it("path templates as the reference lists them", () => {
      const allow = (paths: string[]) =>
        authzFor([ap("p", "foo", { rules: [{ to: [{ operation: { paths } }] }] })], httpbin).may;
      expect(allow(["/foo/{*}"])({ path: "/foo/bar" })).toBe(true);
      expect(allow(["/foo/{*}"])({ path: "/foo/bar/baz" })).toBe(false);
      expect(allow(["/foo/{**}/"])({ path: "/foo/bar/" })).toBe(true);
      expect(allow(["/foo/{**}/"])({ path: "/foo/a/b/" })).toBe(true);
      expect(allow(["/foo/{**}/"])({ path: "/foo/bar" })).toBe(false);
      expect(allow(["/foo/{*}/bar/{**}"])({ path: "/foo/buzz/bar/" })).toBe(true);
      expect(allow(["/foo/{*}/bar/{**}"])({ path: "/foo/buzz/bar/baz" })).toBe(true);
      expect(allow(["/foo/{*}/bar/{**}"])({ path: "/foo//bar/baz" })).toBe(false);
      expect(allow(["/{**}"])({ path: "/" })).toBe(true);
    });

    it("the conditions table's examples", () => {
      const when = (key: string, values: string[]) =>
        authzFor([ap("w", "foo", { rules: [{ when: [{ key, values }] }] })], httpbin).may;
      expect(
        when("request.headers[User-Agent]", ["Mozilla/*"])({ headers: { "user-agent": "Mozilla/5.0" } }),
      ).toBe(true);
      expect(
        when("request.headers[User-Agent]", ["Mozilla/*"])({ headers: { "user-agent": "curl/8" } }),
      ).toBe(false);
      expect(when("source.ip", ["10.1.2.3", "10.2.0.0/16"])({ sourceIp: "10.2.9.9" })).toBe(true);
      expect(
        when("remote.ip", ["10.1.2.3", "10.2.0.0/16"])({ sourceIp: "10.9.9.9", remoteIp: "10.1.2.3" }),
      ).toBe(true);
      expect(when("source.namespace", ["default"])(from("default", "x"))).toBe(true);
      expect(
        when("source.principal", ["cluster.local/ns/default/sa/productpage"])(from("default", "productpage")),
      ).toBe(true);
      const google = jwt("accounts.my-svc.com", "104958560606", { iss: "accounts.my-svc.com" }, [
        "my-svc.com",
      ]);
      expect(when("request.auth.principal", ["accounts.my-svc.com/104958560606"])(google)).toBe(true);
      expect(when("request.auth.audiences", ["my-svc.com"])(google)).toBe(true);
      expect(when("request.auth.claims[iss]", ["*@foo.com"])(jwt("admin@foo.com", "x"))).toBe(true);
      expect(when("request.auth.claims[iss]", ["*@foo.com"])(jwt("admin@bar.com", "x"))).toBe(false);
      expect(when("destination.ip", ["10.1.2.3", "10.2.0.0/16"])({ destinationIp: "10.1.2.3" })).toBe(true);
      expect(when("destination.port", ["80", "443"])({ destinationPort: 443 })).toBe(true);
      expect(when("destination.port", ["80", "443"])({ destinationPort: 8000 })).toBe(false);
      expect(when("connection.sni", ["www.example.com"])({ sni: "www.example.com" })).toBe(true);
    });

    it("Source and Operation semantics: principals need mTLS, namespaces come from the principal, hosts ignore case", () => {
      const allow = (spec: object) => authzFor([ap("p", "foo", { rules: [spec] })], httpbin).may;
      const ns = allow({ from: [{ source: { namespaces: ["default"] } }] });
      expect(ns(from("default", "sleep"))).toBe(true);
      expect(ns({})).toBe(false); // plaintext: no peer principal, so no namespace
      const anyPeer = allow({ from: [{ source: { principals: ["*"] } }] });
      expect(anyPeer(from("bar", "x"))).toBe(true);
      expect(anyPeer({})).toBe(false);
      const hosts = allow({ to: [{ operation: { hosts: ["Bookinfo.Example.com"] } }] });
      expect(hosts({ host: "bookinfo.example.COM" })).toBe(true);
      const notMethods = allow({ to: [{ operation: { notMethods: ["DELETE", "PUT"] } }] });
      expect(notMethods({ method: "GET" })).toBe(true);
      expect(notMethods({ method: "PUT" })).toBe(false);
      // Every value of a list counts, the later ones exactly as the first (no case folding).
      const methods = allow({ to: [{ operation: { methods: ["GET", "POST"] } }] });
      expect(methods({ method: "POST" })).toBe(true);
      expect(methods({ method: "post" })).toBe(false);
    });
  });
}
