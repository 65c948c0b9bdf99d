import { exportJWK, generateKeyPair, type JWK, SignJWT } from "jose";
import { beforeAll, describe, expect, it } from "vitest";
import { compile } from "../../control/compile/compile.ts";
import { authorize } from "./authorize.ts";
import {
  authorizationPolicy as ap,
  httpRequest,
  requestAuthentication as ra,
  workload,
} from "./authz-fixtures.ts";
import { buildAuthzTable } from "./authz-table.ts";
import { createJwksCache, type JwksCacheDeps } from "./jwks-cache.ts";
import { type AuthnResult, authenticateRequest, buildAuthnTable } from "./request-authn.ts";

/**
 * RequestAuthentication behaviour (Istio's JWT task and reference), shared by Node
 * (`request-authn.test.ts`) and workerd (`request-authn.worker.test.ts`). Keys are real ES256 keys;
 * the JWKS endpoint is an injected fetch so "down" and "slow" are exact.
 */

const ISSUER = "testing@secure.istio.io";
const JWKS_URI = "https://jwks.example/keys.json";
const httpbin = workload("httpbin", "foo");
const T0 = 1_750_000_000_000;

interface Keys {
  sign(claims: Record<string, unknown>, opts?: { kid?: string; exp?: number }): Promise<string>;
  publicJwks: { keys: JWK[] };
}

async function makeKeys(kid: string): Promise<Keys> {
  const { privateKey, publicKey } = await generateKeyPair("ES256", { extractable: true });
  const pub = { ...(await exportJWK(publicKey)), kid, alg: "ES256", use: "sig" };
  return {
    publicJwks: { keys: [pub] },
    sign: (claims, opts = {}) =>
      new SignJWT({ iss: ISSUER, sub: "alice", ...claims })
        .setProtectedHeader({ alg: "ES256", kid: opts.kid ?? kid })
        .setIssuedAt(Math.floor(T0 / 1000))
        .setExpirationTime(opts.exp ?? Math.floor(T0 / 1000) + 3600)
        .sign(privateKey),
  };
}

/** A controllable JWKS endpoint: serves `body`, fails, or never answers. */
function endpoint(initial: { keys: JWK[] }) {
  const state = { body: initial as unknown, mode: "up" as "up" | "down" | "hang", calls: 0, clock: T0 };
  const fetch: JwksCacheDeps["fetch"] = async () => {
    state.calls++;
    if (state.mode === "down") throw new Error("connection refused");
    if (state.mode === "hang") return new Promise<Response>(() => {});
    return new Response(JSON.stringify(state.body), { headers: { "content-type": "application/json" } });
  };
  return { state, deps: { fetch, now: () => state.clock } };
}

function setup(jwtRules: unknown[], policies = [] as ReturnType<typeof ap>[], keys?: Keys) {
  const { snapshot } = compile([ra("jwt", "foo", { jwtRules }), ...policies], httpbin);
  const server = endpoint(keys?.publicJwks ?? { keys: [] });
  const jwks = createJwksCache(server.deps, { ttlMs: 60_000, retryAfterMs: 5_000 });
  const table = buildAuthnTable(snapshot.authz);
  const authz = buildAuthzTable(snapshot.authz);
  const authn = (headers: Record<string, string> = {}, path = "/") =>
    authenticateRequest(table, { headers, path }, { jwks, now: () => server.state.clock });
  /** Authenticate, then authorize: the sidecar's order. */
  const status = async (headers: Record<string, string> = {}, path = "/") => {
    const result = await authn(headers, path);
    if (result.kind === "rejected") return 401;
    const identity = result.kind === "authenticated" ? { request: result.identity } : {};
    return authorize(authz, httpRequest({ path, headers, ...identity })).allowed ? 200 : 403;
  };
  return { authn, status, server, jwks, snapshot };
}

const bearer = (token: string) => ({ authorization: `Bearer ${token}` });
const principal = (r: AuthnResult) => (r.kind === "authenticated" ? r.identity.principal : r.kind);

/** Declares the request-authentication suite (call inside a test file). */
export function defineRequestAuthnSuite(): void {
  let keys: Keys;
  let other: Keys;
  beforeAll(async () => {
    keys = await makeKeys("k1");
    other = await makeKeys("k1");
  });
  const inline = () => ({ issuer: ISSUER, jwks: JSON.stringify(keys.publicJwks) });
  const remote = () => ({ issuer: ISSUER, jwksUri: JWKS_URI, timeout: "200ms" });

  describe("request authentication: tokens", () => {
    it("no token → no identity; a valid token → principal <iss>/<sub>; a bad one → 401", async () => {
      const { authn } = setup([inline()]);
      expect(principal(await authn())).toBe("anonymous");
      expect(principal(await authn(bearer(await keys.sign({}))))).toBe(`${ISSUER}/alice`);
      expect(await authn(bearer(await other.sign({})))).toMatchObject({
        kind: "rejected",
        reason: "Jwt verification fails",
      });
      expect(await authn(bearer("not-a-jwt"))).toMatchObject({ kind: "rejected", status: 401 });
      expect(await authn(bearer(await keys.sign({ iss: "someone-else" })))).toMatchObject({
        reason: "Jwt issuer is not configured",
      });
      const expired = await keys.sign({}, { exp: Math.floor(T0 / 1000) - 10 });
      expect(await authn(bearer(expired))).toMatchObject({ reason: "Jwt is expired" });
    });

    it("audiences: the token must carry one of them", async () => {
      const { authn } = setup([{ ...inline(), audiences: ["httpbin", "bookinfo"] }]);
      expect(principal(await authn(bearer(await keys.sign({ aud: ["bookinfo"] }))))).toBe(`${ISSUER}/alice`);
      expect(await authn(bearer(await keys.sign({ aud: "other" })))).toMatchObject({
        reason: "Audiences in Jwt are not allowed",
      });
    });

    it("locations: default Authorization / access_token; fromHeaders with prefix, fromParams, fromCookies", async () => {
      const token = await keys.sign({});
      const defaults = setup([inline()]);
      expect(principal(await defaults.authn({}, `/x?access_token=${token}`))).toBe(`${ISSUER}/alice`);
      const custom = setup([
        {
          ...inline(),
          fromHeaders: [{ name: "x-jwt-assertion", prefix: "Token " }],
          fromParams: ["my_token"],
          fromCookies: ["session"],
        },
      ]);
      expect(principal(await custom.authn({ "x-jwt-assertion": `Token ${token}` }))).toBe(`${ISSUER}/alice`);
      expect(principal(await custom.authn({}, `/x?my_token=${token}`))).toBe(`${ISSUER}/alice`);
      expect(principal(await custom.authn({ cookie: `a=b; session=${token}` }))).toBe(`${ISSUER}/alice`);
      // With custom locations the defaults are not read.
      expect(principal(await custom.authn(bearer(token)))).toBe("anonymous");
    });

    it("outputs: payload and claims to headers, token removed unless forwardOriginalToken, forged outputs dropped", async () => {
      const token = await keys.sign({ groups: ["a"], realm: { role: "admin" }, level: 3 });
      const { authn } = setup([
        {
          ...inline(),
          outputPayloadToHeader: "x-jwt-payload",
          outputClaimToHeaders: [
            { header: "x-sub", claim: "sub" },
            { header: "x-role", claim: "realm.role" },
            { header: "x-level", claim: "level" },
          ],
        },
      ]);
      const result = await authn(bearer(token));
      expect(result.kind).toBe("authenticated");
      if (result.kind !== "authenticated") return;
      expect(result.headers.set).toEqual({
        "x-jwt-payload": token.split(".")[1],
        "x-sub": "alice",
        "x-role": "admin",
        "x-level": "3",
      });
      expect(result.headers.remove).toContain("authorization");
      const anonymous = await authn({ "x-sub": "forged" });
      expect(anonymous.kind === "anonymous" && anonymous.headers.remove).toContain("x-sub");
      const forwarding = setup([{ ...inline(), forwardOriginalToken: true }]);
      const kept = await forwarding.authn(bearer(token));
      expect(kept.kind === "authenticated" && kept.headers.remove).not.toContain("authorization");
    });

    it("Istio JWT task: RequestAuthentication + require-jwt with a groups claim", async () => {
      const requireJwt = ap("require-jwt", "foo", {
        selector: { matchLabels: { app: "httpbin" } },
        rules: [
          {
            from: [{ source: { requestPrincipals: [`${ISSUER}/${ISSUER}`] } }],
            when: [{ key: "request.auth.claims[groups]", values: ["group1"] }],
          },
        ],
      });
      const { status } = setup([inline()], [requireJwt]);
      expect(await status()).toBe(403);
      expect(await status(bearer(await keys.sign({ sub: ISSUER, groups: ["group1", "group2"] })))).toBe(200);
      expect(await status(bearer(await keys.sign({ sub: ISSUER, groups: ["group2"] })))).toBe(403);
      expect(await status(bearer(await other.sign({ sub: ISSUER, groups: ["group1"] })))).toBe(401);
    });

    it("RequestAuthentication reference: a valid token required on every path except /healthz", async () => {
      const requireExceptHealth = ap("httpbin", "foo", {
        selector: { matchLabels: { app: "httpbin" } },
        rules: [
          { from: [{ source: { requestPrincipals: ["*"] } }] },
          { to: [{ operation: { paths: ["/healthz"] } }] },
        ],
      });
      const { status } = setup([inline()], [requireExceptHealth]);
      expect(await status({}, "/healthz")).toBe(200);
      expect(await status({}, "/headers")).toBe(403);
      expect(await status(bearer(await keys.sign({})), "/headers")).toBe(200);
      // An invalid token is refused even where no token is needed: authentication runs first.
      expect(await status(bearer(await other.sign({})), "/healthz")).toBe(401);
    });

    it("an invalid RequestAuthentication that reached the proxy refuses every token (401), not anonymous requests", async () => {
      const { snapshot } = compile(
        [ra("broken", "foo", { jwtRules: [{ issuer: ISSUER, jwks: "nope" }] })],
        httpbin,
      );
      const table = buildAuthnTable(snapshot.authz);
      const jwks = createJwksCache(endpoint({ keys: [] }).deps);
      const authn = (headers: Record<string, string>) =>
        authenticateRequest(table, { headers, path: "/" }, { jwks, now: () => T0 });
      expect(await authn(bearer(await keys.sign({})))).toMatchObject({ kind: "rejected", status: 401 });
      expect((await authn({})).kind).toBe("anonymous");
    });
  });

  describe("request authentication: remote JWKS", () => {
    it("fetches once and caches", async () => {
      const { authn, server } = setup([remote()], [], keys);
      for (let i = 0; i < 3; i++)
        expect(principal(await authn(bearer(await keys.sign({}))))).toBe(`${ISSUER}/alice`);
      expect(server.state.calls).toBe(1);
    });

    it("endpoint down or hanging after keys were cached: cached keys keep working", async () => {
      const { authn, server, jwks } = setup([remote()], [], keys);
      const token = await keys.sign({});
      expect(principal(await authn(bearer(token)))).toBe(`${ISSUER}/alice`);
      server.state.mode = "down";
      server.state.clock += 120_000; // past the TTL: a background refresh fails
      expect(principal(await authn(bearer(token)))).toBe(`${ISSUER}/alice`);
      server.state.mode = "hang";
      server.state.clock += 120_000;
      const started = Date.now();
      expect(principal(await authn(bearer(token)))).toBe(`${ISSUER}/alice`);
      expect(Date.now() - started).toBeLessThan(150);
      expect(jwks.stats.staleServed).toBeGreaterThanOrEqual(2);
    });

    it("no cached key and the endpoint down → 401 at once; hanging → 401 after the rule's timeout, not a hang", async () => {
      const down = setup([remote()], [], keys);
      down.server.state.mode = "down";
      expect(await down.authn(bearer(await keys.sign({})))).toMatchObject({
        reason: "Jwks remote fetch is failed",
      });
      // A failed endpoint is not hammered: the next request within retryAfterMs does not fetch.
      expect(await down.authn(bearer(await keys.sign({})))).toMatchObject({ kind: "rejected" });
      expect(down.server.state.calls).toBe(1);
      // Requests without a token are unaffected.
      expect((await down.authn()).kind).toBe("anonymous");

      const slow = setup([remote()], [], keys);
      slow.server.state.mode = "hang";
      const started = Date.now();
      expect(await slow.authn(bearer(await keys.sign({})))).toMatchObject({ kind: "rejected", status: 401 });
      const waited = Date.now() - started;
      expect(waited).toBeGreaterThanOrEqual(150);
      expect(waited).toBeLessThan(2_000);
    });

    it("a token signed with a new kid triggers one re-fetch (key rotation)", async () => {
      const rotated = await makeKeys("k2");
      const { authn, server } = setup([remote()], [], keys);
      expect(principal(await authn(bearer(await keys.sign({}))))).toBe(`${ISSUER}/alice`);
      server.state.body = { keys: [...keys.publicJwks.keys, ...rotated.publicJwks.keys] };
      server.state.clock += 6_000;
      expect(principal(await authn(bearer(await rotated.sign({}))))).toBe(`${ISSUER}/alice`);
      expect(server.state.calls).toBe(2);
    });
  });
}
