import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { AuthzCheckBody, AuthzCheckResult } from "./authz-check.ts";
import { ISTIO_AUTHZ_EXAMPLES, jwtExample, SLEEP_FOO } from "./authz-test-policies.ts";
import type { ErrorBody } from "./http-errors.ts";
import { type AdminFixture, startAdminFixture } from "./test-fixture.ts";

let fx: AdminFixture;
let tokens: Awaited<ReturnType<typeof jwtExample>>;

beforeAll(async () => {
  fx = await startAdminFixture();
  tokens = await jwtExample();
  const applied = await fx.api("/api/v1/apply", {
    method: "POST",
    body: `${ISTIO_AUTHZ_EXAMPLES}---\n${tokens.policy}`,
    type: "application/yaml",
  });
  expect(applied.status, await applied.clone().text()).toBe(200);
});
afterAll(() => fx?.stop());

async function check(body: AuthzCheckBody): Promise<AuthzCheckResult> {
  const res = await fx.api("/api/v1/authz/check", {
    method: "POST",
    body: JSON.stringify(body),
    type: "application/json",
  });
  expect(res.status, await res.clone().text()).toBe(200);
  return (await res.json()) as AuthzCheckResult;
}

const httpbin = (namespace: string) => ({ namespace, labels: { app: "httpbin", version: "v1" } });

describe("POST /api/v1/authz/check: may A call B?", () => {
  it("denies by default in a namespace with an allow-nothing policy (spec: {})", async () => {
    const result = await check({ target: { namespace: "foo", labels: { app: "other" } } });
    expect(result).toMatchObject({ allowed: false, status: 403, reason: "no-allow-match" });
    expect(result.match).toBeUndefined();
    expect(result.policies.map((p) => p.ref)).toEqual(["AuthorizationPolicy/foo/allow-nothing"]);
  });

  it("allows what an ALLOW rule matches on top of allow-nothing, naming policy and rule", async () => {
    const get = await check({ target: httpbin("foo"), source: { principal: SLEEP_FOO } });
    expect(get).toMatchObject({
      allowed: true,
      status: 200,
      reason: "allow",
      match: { policy: "AuthorizationPolicy/foo/httpbin-viewer", rule: 0 },
    });
    const post = await check({
      target: httpbin("foo"),
      source: { principal: SLEEP_FOO },
      request: { method: "POST" },
    });
    expect(post).toMatchObject({ allowed: false, reason: "no-allow-match" });
    const plaintext = await check({ target: httpbin("foo") });
    expect(plaintext.allowed).toBe(false);
  });

  it("lets a DENY policy win over an ALLOW-all policy, unless its when condition is unmet", async () => {
    const get = await check({ target: httpbin("bar"), request: { path: "/ip" } });
    expect(get).toMatchObject({
      allowed: false,
      reason: "deny",
      match: { policy: "AuthorizationPolicy/bar/deny-method-get", rule: 0 },
    });
    const admin = await check({ target: httpbin("bar"), request: { headers: { "X-Token": "admin" } } });
    expect(admin).toMatchObject({
      allowed: true,
      reason: "allow",
      match: { policy: "AuthorizationPolicy/bar/allow-all", rule: 0 },
    });
  });

  it("checks plain TCP: HTTP-only fields make a DENY rule match more, never an ALLOW rule", async () => {
    const tcp = await check({ target: httpbin("bar"), request: { protocol: "tcp", port: 8000 } });
    expect(tcp).toMatchObject({
      allowed: false,
      match: { policy: "AuthorizationPolicy/bar/deny-method-get", rule: 0 },
    });
    const viewer = await check({
      target: httpbin("foo"),
      source: { principal: SLEEP_FOO },
      request: { protocol: "tcp" },
    });
    expect(viewer).toMatchObject({ allowed: false, reason: "no-allow-match" });
  });

  it("reports what a dry-run policy would have done without enforcing it", async () => {
    const result = await check({
      target: { namespace: "bar", labels: { app: "ratings" } },
      request: { path: "/admin/x" },
    });
    expect(result).toMatchObject({ allowed: true, reason: "allow" });
    expect(result.dryRun).toMatchObject({
      allowed: false,
      reason: "deny",
      match: { policy: "AuthorizationPolicy/bar/dry-run-deny-admin", rule: 0 },
    });
  });

  it("verifies a JWT with the workload's RequestAuthentication: good token allowed, bad one 401", async () => {
    const good = await check({ target: httpbin("jwt"), jwt: tokens.goodToken });
    expect(good).toMatchObject({
      allowed: true,
      authentication: { kind: "authenticated", principal: "testing@secure.istio.io/testing@secure.istio.io" },
      match: { policy: "AuthorizationPolicy/jwt/require-jwt", rule: 0 },
    });
    const other = await check({ target: httpbin("jwt"), jwt: tokens.otherSubject });
    expect(other).toMatchObject({ allowed: false, status: 403, reason: "no-allow-match" });
    const forged = await check({ target: httpbin("jwt"), jwt: `${tokens.goodToken.slice(0, -4)}AAAA` });
    expect(forged).toMatchObject({ allowed: false, status: 401, reason: "jwt-rejected" });
    const none = await check({ target: httpbin("jwt") });
    expect(none).toMatchObject({ allowed: false, status: 403 });
  });

  it("takes --claims as an already-verified identity", async () => {
    const result = await check({
      target: httpbin("jwt"),
      claims: { iss: "testing@secure.istio.io", sub: "testing@secure.istio.io" },
    });
    expect(result).toMatchObject({ allowed: true, reason: "allow" });
  });

  it("allows everything on a workload no policy applies to", async () => {
    const result = await check({ target: { namespace: "default", labels: { app: "reviews" } } });
    expect(result).toMatchObject({ allowed: true, reason: "no-policy", policies: [] });
  });

  it("refuses a malformed question with the field at fault", async () => {
    const res = await fx.api("/api/v1/authz/check", {
      method: "POST",
      body: JSON.stringify({ target: { labels: { app: "x" } }, request: { port: 70000 } }),
      type: "application/json",
    });
    expect(res.status).toBe(400);
    const { error } = (await res.json()) as ErrorBody;
    expect(error).toMatchObject({ code: "bad-request" });
    expect(error.message).toMatch(/^request\.port: /);
    const both = await fx.api("/api/v1/authz/check", {
      method: "POST",
      body: JSON.stringify({ target: {}, jwt: "a.b.c", claims: {} }),
      type: "application/json",
    });
    expect(((await both.json()) as ErrorBody).error.message).toMatch(/^claims: give either jwt/);
    const unauthenticated = await fx.api("/api/v1/authz/check", { method: "POST", body: "{}", token: null });
    expect(unauthenticated.status).toBe(401);
  });
});
