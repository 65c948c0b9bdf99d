import { exportJWK, generateKeyPair, SignJWT } from "jose";
import { describe, expect, it } from "vitest";
import { compile } from "../../control/compile/compile.ts";
import { gateway } from "../../control/compile/test-resources.ts";
import { authorizationPolicy as ap, requestAuthentication as ra } from "../engine/authz-fixtures.ts";
import { meshConfig } from "../engine/ext-authz.case.ts";
import type { ExtAuthzCheckResponse, ExtAuthzTransport } from "../engine/ext-authz.ts";
import { RESPONSE_FLAGS_HEADER } from "../engine/response-flags.ts";
import { createEdgeAuthz } from "./edge-authz.ts";

// Inside workerd: the edge's authz check with the shared engine, on real Request objects.

const edge = gateway(["default/jibe-edge"]);
const noFetch = async (): Promise<Response> => {
  throw new Error("no JWKS endpoint in this test");
};

describe("edge authorization (workerd)", () => {
  it("passes requests through when no policy exists", async () => {
    const authz = createEdgeAuthz({ fetch: noFetch, now: Date.now });
    const request = new Request("https://bookinfo.example.com/productpage");
    const checked = await authz.check(request, compile([], edge).snapshot);
    expect("request" in checked && checked.request).toBe(request);
  });

  it("a targetRef Gateway IP allow list answers 403 RBAC for other clients", async () => {
    const { snapshot } = compile(
      [
        ap("edge-ip", "default", {
          targetRefs: [{ group: "gateway.networking.k8s.io", kind: "Gateway", name: "jibe-edge" }],
          rules: [{ from: [{ source: { remoteIpBlocks: ["203.0.113.0/24"] } }] }],
        }),
      ],
      edge,
    );
    const authz = createEdgeAuthz({ fetch: noFetch, now: Date.now });
    const from = (ip: string) =>
      new Request("https://bookinfo.example.com/", { headers: { "cf-connecting-ip": ip } });
    expect("request" in (await authz.check(from("203.0.113.5"), snapshot))).toBe(true);
    const denied = await authz.check(from("198.51.100.1"), snapshot);
    expect("response" in denied).toBe(true);
    if (!("response" in denied)) return;
    expect(denied.response.status).toBe(403);
    expect(await denied.response.text()).toBe("RBAC: access denied\n");
    expect(denied.response.headers.get(RESPONSE_FLAGS_HEADER)).toBe("RBAC");
  });

  it("verifies JWTs: 401 for a bad one, claims to headers and the token stripped for a good one", async () => {
    const { privateKey, publicKey } = await generateKeyPair("ES256");
    const jwks = JSON.stringify({ keys: [{ ...(await exportJWK(publicKey)), kid: "k", alg: "ES256" }] });
    const { snapshot } = compile(
      [
        ra("jwt", "default", {
          jwtRules: [
            { issuer: "https://idp", jwks, outputClaimToHeaders: [{ header: "x-sub", claim: "sub" }] },
          ],
        }),
        ap("require-jwt", "default", {
          rules: [{ from: [{ source: { requestPrincipals: ["https://idp/*"] } }] }],
        }),
      ],
      edge,
    );
    const token = await new SignJWT({})
      .setProtectedHeader({ alg: "ES256", kid: "k" })
      .setIssuer("https://idp")
      .setSubject("bob")
      .sign(privateKey);
    const authz = createEdgeAuthz({ fetch: noFetch, now: Date.now });
    const call = (authorization?: string) =>
      authz.check(
        new Request("https://api.example.com/x", authorization ? { headers: { authorization } } : {}),
        snapshot,
      );
    const bad = await call("Bearer x.y.z");
    expect("response" in bad && bad.response.status).toBe(401);
    const anonymous = await call();
    expect("response" in anonymous && anonymous.response.status).toBe(403);
    const good = await call(`Bearer ${token}`);
    expect("request" in good).toBe(true);
    if (!("request" in good)) return;
    expect(good.request.headers.get("x-sub")).toBe("bob");
    expect(good.request.headers.get("authorization")).toBeNull();
  });

  it("CUSTOM: the authorizer's denial is the answer (UAEX); its allow adds headers up and down", async () => {
    const { snapshot } = compile(
      [
        meshConfig({
          headersToUpstreamOnAllow: ["x-user-id"],
          headersToDownstreamOnAllow: ["x-checked"],
          headersToDownstreamOnDeny: ["x-reason"],
        }),
        ap("ext", "default", {
          targetRefs: [{ group: "gateway.networking.k8s.io", kind: "Gateway", name: "jibe-edge" }],
          action: "CUSTOM",
          provider: { name: "sample-ext-authz-http" },
          rules: [{ to: [{ operation: { paths: ["/api/*"] } }] }],
        }),
      ],
      edge,
    );
    const seen: string[] = [];
    const transport: ExtAuthzTransport = async (_provider, check): Promise<ExtAuthzCheckResponse> => {
      seen.push(check.path);
      if (check.headers["x-ext-authz"] === "allow")
        return { status: 200, headers: { "x-user-id": "u-1", "x-checked": "yes" }, body: "" };
      if (check.headers["x-ext-authz"] === "down") throw new Error("connect failed");
      return { status: 401, headers: { "x-reason": "no token", "x-secret": "s" }, body: "go away" };
    };
    const authz = createEdgeAuthz({ fetch: noFetch, now: Date.now, extAuthz: () => transport });
    const call = (value: string, path = "/api/orders") =>
      authz.check(
        new Request(`https://api.example.com${path}`, { headers: { "x-ext-authz": value } }),
        snapshot,
      );
    const denied = await call("no");
    if (!("response" in denied)) throw new Error("expected a denial");
    expect(denied.response.status).toBe(401);
    expect(await denied.response.text()).toBe("go away");
    expect(denied.response.headers.get("x-reason")).toBe("no token");
    expect(denied.response.headers.get("x-secret")).toBeNull();
    expect(denied.response.headers.get(RESPONSE_FLAGS_HEADER)).toBe("UAEX");
    const down = await call("down");
    expect("response" in down && down.response.status).toBe(403);
    const allowed = await call("allow");
    if (!("request" in allowed)) throw new Error("expected the request to pass");
    expect(allowed.request.headers.get("x-user-id")).toBe("u-1");
    expect(allowed.responseHeaders).toEqual({ "x-checked": "yes" });
    expect("request" in (await call("no", "/public"))).toBe(true);
    expect(seen).toEqual(["/api/orders", "/api/orders", "/api/orders"]);
    expect(authz.counters.extAuthz).toEqual({ ok: 1, denied: 1, error: 1, failureModeAllowed: 0 });
  });
});
