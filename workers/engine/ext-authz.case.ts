import { describe, expect, it } from "vitest";
import type { StoredResource } from "../../broker/events.ts";
import { compile } from "../../control/compile/compile.ts";
import { authorizeWithExtAuthz } from "./authorize.ts";
import { countDecision, createAuthzCounters } from "./authz-counters.ts";
import type { AuthzFacts } from "./authz-facts.ts";
import { authorizationPolicy as ap, httpRequest, workload } from "./authz-fixtures.ts";
import { buildAuthzTable } from "./authz-table.ts";
import {
  checkExternally,
  type ExtAuthzCheckRequest,
  type ExtAuthzCheckResponse,
  type ExtAuthzTransport,
} from "./ext-authz.ts";

/**
 * CUSTOM AuthorizationPolicy with an external HTTP authorizer (mesh config `extensionProviders`
 * `envoyExtAuthzHttp`), run in Node and workerd. The authorizer is an injected transport here; the
 * sidecar suite calls a real HTTP server. Cases follow Istio's "External Authorization" task.
 */

const httpbin = workload("httpbin", "foo");

/** ConfigMap istio-system/istio with one ext-authz provider (Istio's sample-ext-authz-http). */
export function meshConfig(
  provider: Record<string, unknown> = {},
  name = "sample-ext-authz-http",
): StoredResource {
  const mesh = {
    extensionProviders: [
      {
        name,
        envoyExtAuthzHttp: {
          service: "ext-authz.foo.svc.cluster.local",
          port: 8000,
          includeRequestHeadersInCheck: ["x-ext-authz"],
          ...provider,
        },
      },
    ],
  };
  return {
    apiVersion: "v1",
    kind: "ConfigMap",
    metadata: { name: "istio", namespace: "istio-system" },
    spec: { mesh: JSON.stringify(mesh) },
  };
}

/** Istio's sample: CUSTOM on /headers, sent to the provider. */
const extAuthzPolicy = ap("ext-authz", "foo", {
  selector: { matchLabels: { app: "httpbin" } },
  action: "CUSTOM",
  provider: { name: "sample-ext-authz-http" },
  rules: [{ to: [{ operation: { paths: ["/headers"] } }] }],
});

/** Istio's sample authorizer: allows `x-ext-authz: allow`, else 403 "denied by ext_authz ...". */
function sampleAuthorizer(): { transport: ExtAuthzTransport; checks: ExtAuthzCheckRequest[] } {
  const checks: ExtAuthzCheckRequest[] = [];
  const transport: ExtAuthzTransport = async (_provider, check) => {
    checks.push(check);
    const allowed = check.headers["x-ext-authz"] === "allow";
    const response: ExtAuthzCheckResponse = allowed
      ? { status: 200, headers: { "x-ext-authz-check-result": "allowed", "x-other": "1" }, body: "" }
      : {
          status: 403,
          headers: { "x-ext-authz-check-result": "denied", "content-type": "text/plain" },
          body: "denied by ext_authz for not found header `x-ext-authz: allow` in the request",
        };
    return response;
  };
  return { transport, checks };
}

function setup(resources: StoredResource[], transport: ExtAuthzTransport) {
  const { snapshot, diagnostics } = compile(resources, httpbin);
  const table = buildAuthzTable(snapshot.authz);
  const decide = (facts: Partial<AuthzFacts>) =>
    authorizeWithExtAuthz(table, httpRequest(facts), (provider, f) =>
      checkExternally(provider, f, transport),
    );
  return { decide, diagnostics, snapshot };
}

/** Declares the ext-authz cases (call inside a test file). */
export function defineExtAuthzSuite(): void {
  describe("authz: CUSTOM with an external authorizer (envoyExtAuthzHttp)", () => {
    it("asks the provider only for requests the CUSTOM rules match; its 403 and body reach the client", async () => {
      const { transport, checks } = sampleAuthorizer();
      const { decide } = setup([meshConfig(), extAuthzPolicy], transport);
      expect((await decide({ path: "/ip" })).allowed).toBe(true);
      expect(checks).toHaveLength(0);
      const denied = await decide({ path: "/headers", headers: { "x-ext-authz": "deny" } });
      expect(denied).toMatchObject({
        allowed: false,
        reason: "custom",
        provider: "sample-ext-authz-http",
        match: { policy: "AuthorizationPolicy/foo/ext-authz", rule: 0 },
        extAuthz: { kind: "denied", status: 403, headers: { "x-ext-authz-check-result": "denied" } },
      });
      expect(denied.extAuthz?.kind === "denied" && denied.extAuthz.body).toContain("denied by ext_authz");
      const allowed = await decide({ path: "/headers", headers: { "x-ext-authz": "allow" } });
      expect(allowed.allowed).toBe(true);
      expect(checks).toHaveLength(2);
    });

    it("an allow continues to DENY and ALLOW policies (CUSTOM runs first, it does not grant)", async () => {
      const { transport } = sampleAuthorizer();
      const { decide } = setup(
        [
          meshConfig(),
          extAuthzPolicy,
          ap("deny-delete", "foo", {
            action: "DENY",
            rules: [{ to: [{ operation: { methods: ["DELETE"] } }] }],
          }),
          ap("only-get", "foo", { rules: [{ to: [{ operation: { methods: ["GET", "DELETE"] } }] }] }),
        ],
        transport,
      );
      const allow = { path: "/headers", headers: { "x-ext-authz": "allow" } };
      expect(await decide(allow)).toMatchObject({
        allowed: true,
        reason: "allow",
        extAuthz: { kind: "allowed" },
      });
      expect(await decide({ ...allow, method: "DELETE" })).toMatchObject({
        allowed: false,
        reason: "deny",
        match: { policy: "AuthorizationPolicy/foo/deny-delete" },
      });
      expect(await decide({ ...allow, method: "POST" })).toMatchObject({
        allowed: false,
        reason: "no-allow-match",
      });
    });

    it("sends method, pathPrefix + path, authorization, listed and additional headers; copies allowed headers", async () => {
      const { transport, checks } = sampleAuthorizer();
      const { decide } = setup(
        [
          meshConfig({
            pathPrefix: "/check",
            includeRequestHeadersInCheck: ["x-ext-authz", "x-team-*"],
            includeAdditionalHeadersInCheck: { "X-Proxy": "jibe" },
            headersToUpstreamOnAllow: ["x-ext-authz-check-*"],
            headersToDownstreamOnAllow: ["x-other"],
            headersToDownstreamOnDeny: ["x-ext-authz-check-result"],
          }),
          extAuthzPolicy,
        ],
        transport,
      );
      const allowed = await decide({
        method: "POST",
        path: "/headers?q=1",
        host: "httpbin.foo:8000",
        headers: { "x-ext-authz": "allow", "x-team-id": "7", authorization: "Bearer t", cookie: "secret" },
      });
      expect(checks[0]).toEqual({
        method: "POST",
        path: "/check/headers?q=1",
        headers: {
          "x-ext-authz": "allow",
          "x-team-id": "7",
          authorization: "Bearer t",
          "x-proxy": "jibe",
          host: "httpbin.foo:8000",
          "content-length": "0",
        },
      });
      expect(allowed.extAuthz).toEqual({
        kind: "allowed",
        provider: "sample-ext-authz-http",
        upstreamHeaders: { "x-ext-authz-check-result": "allowed" },
        downstreamHeaders: { "x-other": "1" },
      });
      const denied = await decide({ path: "/headers" });
      expect(denied.extAuthz).toMatchObject({
        kind: "denied",
        headers: { "x-ext-authz-check-result": "denied" },
      });
      expect(denied.extAuthz?.kind === "denied" && Object.keys(denied.extAuthz.headers)).toEqual([
        "x-ext-authz-check-result",
      ]);
    });

    it("authorizer down or too slow: fails closed with 403, or statusOnError, unless failOpen", async () => {
      const down: ExtAuthzTransport = async () => {
        throw new Error("connect ECONNREFUSED");
      };
      const closed = setup([meshConfig(), extAuthzPolicy], down);
      expect(await closed.decide({ path: "/headers" })).toMatchObject({
        allowed: false,
        reason: "custom",
        extAuthz: { kind: "error", status: 403, reason: "connect ECONNREFUSED" },
      });
      expect((await closed.decide({ path: "/ip" })).allowed).toBe(true);
      const status = setup([meshConfig({ statusOnError: "503" }), extAuthzPolicy], down);
      expect((await status.decide({ path: "/headers" })).extAuthz).toMatchObject({
        kind: "error",
        status: 503,
      });
      const open = setup(
        [
          meshConfig({ failOpen: true }),
          extAuthzPolicy,
          ap("deny-post", "foo", { action: "DENY", rules: [{ to: [{ operation: { methods: ["POST"] } }] }] }),
        ],
        down,
      );
      expect(await open.decide({ path: "/headers" })).toMatchObject({
        allowed: true,
        extAuthz: { kind: "fail-open" },
      });
      // Failing open skips only the authorizer: DENY policies still apply.
      expect((await open.decide({ path: "/headers", method: "POST" })).allowed).toBe(false);
    });

    it("unknown provider, missing mesh config or two providers: the CUSTOM policy denies what it matches", async () => {
      const { transport, checks } = sampleAuthorizer();
      const unknown = setup([meshConfig({}, "other-provider"), extAuthzPolicy], transport);
      expect(unknown.diagnostics.map((d) => d.code)).toContain("JIBE2031");
      expect(await unknown.decide({ path: "/headers", headers: { "x-ext-authz": "allow" } })).toMatchObject({
        allowed: false,
        match: { policy: "AuthorizationPolicy/foo/ext-authz" },
      });
      expect((await unknown.decide({ path: "/ip" })).allowed).toBe(true);
      const noMesh = setup([extAuthzPolicy], transport);
      expect(noMesh.snapshot.authz?.policies[0]?.failClosed).toContain("not defined in mesh config");
      expect((await noMesh.decide({ path: "/headers" })).allowed).toBe(false);
      const second = ap("ext-authz-2", "foo", { action: "CUSTOM", provider: { name: "other" }, rules: [{}] });
      const two = setup([meshConfig(), extAuthzPolicy, second], transport);
      expect(two.diagnostics.filter((d) => d.code === "JIBE2031")).toHaveLength(2);
      expect((await two.decide({ path: "/headers", headers: { "x-ext-authz": "allow" } })).allowed).toBe(
        false,
      );
      expect(checks).toHaveLength(0);
    });

    it("plain TCP is not sent to an HTTP provider: the CUSTOM policy does not apply to it (as in Istio)", async () => {
      const { transport, checks } = sampleAuthorizer();
      const all = ap("ext-all", "foo", {
        action: "CUSTOM",
        provider: { name: "sample-ext-authz-http" },
        rules: [{}],
      });
      const { decide } = setup([meshConfig(), all], transport);
      const tcp = {
        protocol: "tcp" as const,
        method: undefined,
        path: undefined,
        headers: undefined,
        host: undefined,
      };
      expect(await decide(tcp)).toMatchObject({ allowed: true });
      expect(checks).toHaveLength(0);
      expect((await decide({ path: "/x" })).allowed).toBe(false);
    });

    it("counts denials per policy: ext-authz outcomes, RBAC denials, dry-run shadow decisions", async () => {
      const { transport } = sampleAuthorizer();
      const { decide } = setup(
        [
          meshConfig(),
          extAuthzPolicy,
          ap("deny-post", "foo", { action: "DENY", rules: [{ to: [{ operation: { methods: ["POST"] } }] }] }),
          ap(
            "deny-put",
            "foo",
            { action: "DENY", rules: [{ to: [{ operation: { methods: ["PUT"] } }] }] },
            { "istio.io/dry-run": "true" },
          ),
        ],
        transport,
      );
      const counters = createAuthzCounters();
      for (const facts of [
        { path: "/headers" },
        { path: "/headers", headers: { "x-ext-authz": "allow" } },
        { method: "POST" },
        { method: "PUT" },
        { method: "GET" },
      ])
        countDecision(counters, await decide(facts));
      expect(counters.extAuthz).toEqual({ ok: 1, denied: 1, error: 0, failureModeAllowed: 0 });
      expect(counters.policies["AuthorizationPolicy/foo/ext-authz"]?.denied).toBe(1);
      expect(counters.policies["AuthorizationPolicy/foo/deny-post"]?.denied).toBe(1);
      expect(counters.policies["AuthorizationPolicy/foo/deny-put"]).toMatchObject({
        denied: 0,
        shadowDenied: 1,
      });
      expect(counters.shadowDenied).toBe(3); // the two real denials, and PUT
      expect(counters.shadowAllowed).toBe(2);
    });
  });
}
