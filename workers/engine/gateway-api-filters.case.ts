import { describe, expect, it } from "vitest";
import { evaluateCors } from "./cors.ts";
import { decideRoute, type RequestFacts, type RouteDecision } from "./decide-route.ts";
import { seededRandom } from "./engine-fixtures.ts";
import { backendOf, conformanceInfra, gatewayTable, httpRoute } from "./gateway-api-fixtures.ts";
import { applyHeaderPolicies, type HeaderEditor, headerPoliciesFor } from "./header-mutation.ts";
import { pickMirrors } from "./mirror.ts";
import { planRetry, retryPolicyOf } from "./retry-plan.ts";
import { rewriteRequest } from "./rewrite.ts";

/**
 * The filter behaviours of the Gateway API conformance suite (HTTPRouteRedirect*, Rewrite*,
 * Request/ResponseHeaderModifier, RequestMirror, timeouts, retry, CORS) as our own cases: the
 * compiled route, then the engine helpers the proxies apply. Shared by Node and workerd.
 */

const req = (path: string, extra: Partial<RequestFacts> = {}): RequestFacts => ({
  authority: "gateway.example",
  path,
  method: "GET",
  scheme: "http",
  headers: {},
  ...extra,
});
const to = (name: string, extra: object = {}) => ({ name, port: 8080, ...extra });
const prefix = (value: string) => [{ path: { type: "PathPrefix", value } }];

function forwarded(d: RouteDecision) {
  if (d.kind !== "forward") throw new Error(`expected a forward decision, got ${JSON.stringify(d)}`);
  return d;
}

/** Applies a header side to a plain record, through the same editor interface the proxies use. */
function edited(
  start: Record<string, string>,
  apply: (editor: HeaderEditor) => void,
): Record<string, string> {
  const headers = new Headers(start);
  apply(headers);
  return Object.fromEntries(headers.entries());
}

export function defineGatewayApiFilterCases(): void {
  describe("Gateway API HTTPRoute: RequestRedirect", () => {
    const redirect = (path: string, requestRedirect: object) => ({
      matches: prefix(path),
      filters: [{ type: "RequestRedirect", requestRedirect }],
    });
    const { table } = gatewayTable([
      ...conformanceInfra(),
      httpRoute("redirect", {
        rules: [
          redirect("/scheme", { scheme: "https" }),
          redirect("/scheme-and-host", { scheme: "https", hostname: "example.org" }),
          redirect("/port", { port: 8083 }),
          redirect("/port-and-host", { hostname: "example.org", port: 8083, statusCode: 301 }),
          redirect("/hostname", { hostname: "example.org" }),
          redirect("/original-prefix", {
            path: { type: "ReplacePrefixMatch", replacePrefixMatch: "/replacement-prefix" },
          }),
          redirect("/full", { path: { type: "ReplaceFullPath", replaceFullPath: "/full-path-replacement" } }),
          ...[301, 302, 303, 307, 308].map((code) => redirect(`/status-${code}`, { statusCode: code })),
          redirect("/scheme-nil-and-port-80", { port: 80 }),
          redirect("/scheme-https-and-port-443", { scheme: "https", port: 443 }),
          redirect("/scheme-https-and-port-8443", { scheme: "https", port: 8443 }),
        ],
      }),
    ]);
    const location = (path: string, extra: Partial<RequestFacts> = {}) => {
      const d = decideRoute(table, req(path, extra), Math.random);
      return d.kind === "redirect" ? `${d.status} ${d.location}` : d.kind;
    };

    it("answers each redirect status code, 302 by default", () => {
      for (const code of [301, 302, 303, 307, 308])
        expect(location(`/status-${code}`)).toBe(`${code} http://gateway.example/status-${code}`);
      expect(location("/hostname/x")).toBe("302 http://example.org/hostname/x");
    });

    it("changes the scheme and uses its well-known port (HTTPRouteRedirectScheme)", () => {
      expect(location("/scheme", { authority: "gateway.example:8080" })).toBe(
        "302 https://gateway.example/scheme",
      );
      expect(location("/scheme-and-host")).toBe("302 https://example.org/scheme-and-host");
    });

    it("sets the port, or keeps the listener's when none is given (HTTPRouteRedirectPort)", () => {
      expect(location("/port")).toBe("302 http://gateway.example:8083/port");
      expect(location("/port-and-host")).toBe("301 http://example.org:8083/port-and-host");
      expect(location("/hostname", { authority: "gateway.example:8080" })).toBe(
        "302 http://example.org:8080/hostname",
      );
    });

    it("leaves a scheme's well-known port out of Location (HTTPRouteRedirectPortAndScheme)", () => {
      expect(location("/scheme-nil-and-port-80")).toBe("302 http://gateway.example/scheme-nil-and-port-80");
      expect(location("/scheme-https-and-port-443")).toBe(
        "302 https://gateway.example/scheme-https-and-port-443",
      );
      expect(location("/scheme-https-and-port-8443")).toBe(
        "302 https://gateway.example:8443/scheme-https-and-port-8443",
      );
    });

    it("replaces the full path or the matched prefix, keeping the query (HTTPRouteRedirectPath)", () => {
      expect(location("/original-prefix/lemon?x=1")).toBe(
        "302 http://gateway.example/replacement-prefix/lemon?x=1",
      );
      expect(location("/original-prefix")).toBe("302 http://gateway.example/replacement-prefix");
      expect(location("/full/path/original")).toBe("302 http://gateway.example/full-path-replacement");
    });
  });

  describe("Gateway API HTTPRoute: URLRewrite and header modifiers", () => {
    const modify = {
      type: "RequestHeaderModifier",
      requestHeaderModifier: {
        set: [{ name: "X-Header-Set", value: "set-overwrites-values" }],
        add: [
          { name: "X-Header-Add", value: "header-val-1" },
          { name: "X-Header-Add-Append", value: "header-val-2" },
        ],
        remove: ["X-Header-Remove"],
      },
    };
    const rewrite = (path: object) => ({ type: "URLRewrite", urlRewrite: { path } });
    const { table } = gatewayTable([
      ...conformanceInfra(),
      httpRoute("rewrite-path", {
        rules: [
          {
            matches: prefix("/prefix/one"),
            filters: [rewrite({ type: "ReplacePrefixMatch", replacePrefixMatch: "/one" })],
            backendRefs: [to("infra-backend-v1")],
          },
          {
            matches: prefix("/strip-prefix"),
            filters: [rewrite({ type: "ReplacePrefixMatch", replacePrefixMatch: "/" })],
            backendRefs: [to("infra-backend-v1")],
          },
          {
            matches: prefix("/full/one"),
            filters: [rewrite({ type: "ReplaceFullPath", replaceFullPath: "/one" })],
            backendRefs: [to("infra-backend-v1")],
          },
          {
            matches: prefix("/full/rewrite-path-and-modify-headers"),
            filters: [rewrite({ type: "ReplaceFullPath", replaceFullPath: "/test" }), modify],
            backendRefs: [to("infra-backend-v1")],
          },
          {
            matches: prefix("/host"),
            filters: [{ type: "URLRewrite", urlRewrite: { hostname: "one.example.org" } }],
            backendRefs: [to("infra-backend-v1")],
          },
          {
            matches: prefix("/response"),
            filters: [
              {
                type: "ResponseHeaderModifier",
                responseHeaderModifier: {
                  set: [{ name: "X-Header-Set", value: "set-overwrites-values" }],
                  add: [{ name: "X-Header-Add", value: "add-appends-values" }],
                  remove: ["X-Header-Remove"],
                },
              },
            ],
            backendRefs: [
              to("infra-backend-v1", {
                filters: [
                  {
                    type: "RequestHeaderModifier",
                    requestHeaderModifier: { set: [{ name: "X-Backend", value: "v1" }] },
                  },
                ],
              }),
            ],
          },
        ],
      }),
    ]);
    const target = (path: string) => {
      const d = forwarded(decideRoute(table, req(path), Math.random));
      return rewriteRequest(
        { path, authority: "gateway.example" },
        d.route.action.kind === "route" ? d.route.action.rewrite : undefined,
      );
    };

    it("rewrites the matched prefix element-wise and the full path (HTTPRouteRewritePath)", () => {
      expect(target("/prefix/one/two").path).toBe("/one/two");
      expect(target("/strip-prefix/three").path).toBe("/three");
      expect(target("/strip-prefix").path).toBe("/");
      expect(target("/full/one/two?q=1").path).toBe("/one?q=1");
      expect(target("/full/rewrite-path-and-modify-headers/test").path).toBe("/test");
    });

    it("rewrites the host (HTTPRouteRewriteHost)", () => {
      expect(target("/host/x")).toEqual({ path: "/host/x", authority: "one.example.org" });
    });

    it("sets, appends and removes request headers (HTTPRouteRequestHeaderModifier)", () => {
      const d = forwarded(decideRoute(table, req("/full/rewrite-path-and-modify-headers/test"), Math.random));
      const headers = edited(
        { "x-header-remove": "remove-val", "x-header-add-append": "append-val-1", "x-header-set": "set-val" },
        (editor) => applyHeaderPolicies(editor, headerPoliciesFor(d.route, d.destination), "request"),
      );
      expect(headers).toEqual({
        "x-header-add": "header-val-1",
        "x-header-add-append": "append-val-1, header-val-2",
        "x-header-set": "set-overwrites-values",
      });
    });

    it("modifies response headers, and applies a backendRef's own filters (HTTPRouteResponseHeaderModifier)", () => {
      const d = forwarded(decideRoute(table, req("/response"), Math.random));
      const policies = headerPoliciesFor(d.route, d.destination);
      expect(edited({}, (e) => applyHeaderPolicies(e, policies, "request"))).toEqual({ "x-backend": "v1" });
      expect(
        edited({ "x-header-set": "original", "x-header-add": "original", "x-header-remove": "gone" }, (e) =>
          applyHeaderPolicies(e, policies, "response"),
        ),
      ).toEqual({ "x-header-set": "set-overwrites-values", "x-header-add": "original, add-appends-values" });
    });
  });

  describe("Gateway API HTTPRoute: mirrors, timeouts, retries, CORS", () => {
    const { table } = gatewayTable([
      ...conformanceInfra(),
      httpRoute("policies", {
        rules: [
          {
            matches: prefix("/mirror"),
            filters: [
              { type: "RequestMirror", requestMirror: { backendRef: to("infra-backend-v2") } },
              {
                type: "RequestMirror",
                requestMirror: {
                  backendRef: to("infra-backend-v3"),
                  fraction: { numerator: 1, denominator: 4 },
                },
              },
            ],
            backendRefs: [to("infra-backend-v1")],
          },
          {
            matches: prefix("/timeout"),
            timeouts: { request: "500ms", backendRequest: "200ms" },
            backendRefs: [to("infra-backend-v1")],
          },
          {
            matches: prefix("/retry"),
            retry: { attempts: 3, codes: [500, 502], backoff: "10ms" },
            backendRefs: [to("infra-backend-v1")],
          },
          { matches: prefix("/no-retry"), retry: { attempts: 0 }, backendRefs: [to("infra-backend-v1")] },
          {
            matches: prefix("/cors-1"),
            filters: [
              {
                type: "CORS",
                cors: {
                  allowOrigins: ["https://www.foo.com", "https://*.bar.com"],
                  allowMethods: ["GET", "OPTIONS"],
                  allowHeaders: ["x-header-1", "x-header-2"],
                  exposeHeaders: ["x-header-3", "x-header-4"],
                  allowCredentials: true,
                  maxAge: 3600,
                },
              },
            ],
            backendRefs: [to("infra-backend-v1")],
          },
          {
            matches: prefix("/cors-wildcard"),
            filters: [{ type: "CORS", cors: { allowOrigins: ["*"], allowMethods: ["*"] } }],
            backendRefs: [to("infra-backend-v1")],
          },
        ],
      }),
    ]);
    const route = (path: string) => forwarded(decideRoute(table, req(path), Math.random));

    it("mirrors to every RequestMirror, a fraction of requests for a fractional one", () => {
      const action = route("/mirror").route.action;
      const mirrors = action.kind === "route" ? action.mirrors : undefined;
      const random = seededRandom(3);
      const counts = new Map<string, number>();
      for (let i = 0; i < 4000; i++)
        for (const cluster of pickMirrors(mirrors, random))
          counts.set(backendOf(cluster), (counts.get(backendOf(cluster)) ?? 0) + 1);
      expect(counts.get("infra-backend-v2")).toBe(4000);
      expect((counts.get("infra-backend-v3") ?? 0) / 4000).toBeCloseTo(0.25, 1);
      expect(backendOf(route("/mirror").cluster.name)).toBe("infra-backend-v1");
    });

    it("applies the request timeout to the whole request and backendRequest to each try", () => {
      const d = route("/timeout");
      expect(d.timeoutMs).toBe(500);
      expect(retryPolicyOf(d.route.action).perTryTimeoutMs).toBe(200);
    });

    it("retries the listed codes up to attempts, with the given backoff; attempts 0 never retries", () => {
      const policy = retryPolicyOf(route("/retry").route.action);
      const answer = (status: number) => ({ kind: "response" as const, status, headers: {} });
      expect(planRetry(policy, answer(500), 0, () => 0.5)).toEqual({ kind: "retry", backoffMs: 5 });
      expect(planRetry(policy, answer(502), 2, () => 0)).toEqual({ kind: "retry", backoffMs: 0 });
      expect(planRetry(policy, answer(502), 3, () => 0)).toEqual({ kind: "exhausted" });
      expect(planRetry(policy, answer(404), 0, () => 0)).toEqual({ kind: "done" });
      expect(planRetry(retryPolicyOf(route("/no-retry").route.action), answer(503), 0, () => 0)).toEqual({
        kind: "done",
      });
    });

    it("answers CORS preflights from exact and wildcard origins, not others (HTTPRouteCORS)", () => {
      const cors = route("/cors-1").route.cors;
      const preflight = (origin: string) =>
        evaluateCors(cors, {
          method: "OPTIONS",
          headers: { origin, "access-control-request-method": "GET" },
        });
      for (const origin of ["https://www.foo.com", "https://www.bar.com", "https://xpto.www.bar.com"])
        expect(preflight(origin)).toEqual({
          kind: "preflight",
          status: 200,
          headers: {
            "access-control-allow-origin": origin,
            "access-control-allow-methods": "GET,OPTIONS",
            "access-control-allow-headers": "x-header-1,x-header-2",
            "access-control-max-age": "3600",
            "access-control-allow-credentials": "true",
          },
        });
      expect(preflight("https://foobar.com")).toEqual({ kind: "none" });
      expect(evaluateCors(cors, { method: "GET", headers: { origin: "https://www.foo.com" } })).toEqual({
        kind: "cors",
        responseHeaders: {
          "access-control-allow-origin": "https://www.foo.com",
          "access-control-allow-credentials": "true",
          "access-control-expose-headers": "x-header-3,x-header-4",
        },
      });
      const wildcard = evaluateCors(route("/cors-wildcard").route.cors, {
        method: "OPTIONS",
        headers: { origin: "https://foobar.com:12345", "access-control-request-method": "PUT" },
      });
      expect(wildcard).toEqual({
        kind: "preflight",
        status: 200,
        headers: {
          "access-control-allow-origin": "https://foobar.com:12345",
          "access-control-allow-methods": "*",
          "access-control-max-age": "5",
        },
      });
    });
  });
}
