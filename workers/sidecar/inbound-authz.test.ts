import { exportJWK, generateKeyPair, SignJWT } from "jose";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { silentLogger } from "../../broker/logger.ts";
import { RESPONSE_FLAGS_HEADER } from "../engine/index.ts";
import { type Sidecar, startSidecar } from "./sidecar.ts";
import { call, startTestApp, startTestMesh, type TestApp, type TestMesh } from "./test-mesh.ts";

/**
 * Real nats-server, real sidecar, real HTTP: AuthorizationPolicy and RequestAuthentication applied
 * through signed policy are enforced on the sidecar's inbound listener.
 */

let mesh: TestMesh;
let app: TestApp;
let sidecar: Sidecar;
let token: string;
let jwks: string;
const ISSUER = "https://issuer.example";

const policy = (name: string, spec: object, annotations?: Record<string, string>) => ({
  apiVersion: "security.istio.io/v1",
  kind: "AuthorizationPolicy",
  metadata: { name, namespace: "default", ...(annotations ? { annotations } : {}) },
  spec,
});

const applyAndWait = (...docs: object[]) => mesh.applyAndWait([sidecar], ...docs);

beforeAll(async () => {
  mesh = await startTestMesh();
  app = await startTestApp("httpbin");
  sidecar = await startSidecar({
    nc: mesh.nc,
    verifier: mesh.verifier,
    proxy: {
      id: "sidecar~httpbin~default",
      role: "sidecar",
      namespace: "default",
      labels: { app: "httpbin" },
    },
    appPort: app.port,
    log: silentLogger,
  });
  const { privateKey, publicKey } = await generateKeyPair("ES256");
  jwks = JSON.stringify({ keys: [{ ...(await exportJWK(publicKey)), kid: "k", alg: "ES256" }] });
  token = await new SignJWT({ groups: ["admins"] })
    .setProtectedHeader({ alg: "ES256", kid: "k" })
    .setIssuer(ISSUER)
    .setSubject("alice")
    .setExpirationTime("1h")
    .sign(privateKey);
});

afterAll(async () => {
  await sidecar?.stop();
  await app?.stop();
  await mesh?.stop();
});

describe("sidecar inbound authorization", () => {
  const get = (path: string, headers: Record<string, string> = {}, method = "GET") =>
    call(sidecar.inboundPort, "httpbin:8000", path, { headers, method });

  it("allows everything without policy, then enforces an applied DENY with 403 RBAC", async () => {
    expect((await get("/admin")).status).toBe(200);
    await applyAndWait(
      policy("no-admin", { action: "DENY", rules: [{ to: [{ operation: { paths: ["/admin*"] } }] }] }),
    );
    const denied = await get("/admin/users");
    expect(denied.status).toBe(403);
    expect(denied.body.trim()).toBe("RBAC: access denied");
    expect(denied.headers[RESPONSE_FLAGS_HEADER]).toBe("RBAC");
    expect((await get("/public")).status).toBe(200);
    // Dot segments and encodings do not get past it.
    expect((await get("/public/../admin")).status).toBe(403);
    expect((await get("/%61dmin")).status).toBe(403);
    expect(sidecar.stats().inbound.byFlag.RBAC).toBeGreaterThanOrEqual(3);
    expect(sidecar.stats().authz.denied).toBeGreaterThanOrEqual(3);
  });

  it("without mTLS there is no peer principal: a principal-only ALLOW denies, it does not trust headers", async () => {
    await applyAndWait(
      policy("only-sleep", {
        rules: [{ from: [{ source: { principals: ["cluster.local/ns/default/sa/sleep"] } }] }],
      }),
    );
    expect((await get("/x")).status).toBe(403);
    const forged = await get("/x", {
      "x-forwarded-client-cert": "By=x;URI=spiffe://cluster.local/ns/default/sa/sleep",
      "x-jibe-peer-principal": "cluster.local/ns/default/sa/sleep",
    });
    expect(forged.status).toBe(403);
    await mesh.remove("AuthorizationPolicy", "only-sleep");
  });

  it("RequestAuthentication: bad token 401, no token anonymous, requestPrincipals required by policy", async () => {
    await applyAndWait(
      {
        apiVersion: "security.istio.io/v1",
        kind: "RequestAuthentication",
        metadata: { name: "jwt", namespace: "default" },
        spec: {
          jwtRules: [{ issuer: ISSUER, jwks, outputClaimToHeaders: [{ header: "x-user", claim: "sub" }] }],
        },
      },
      policy("require-jwt", { rules: [{ from: [{ source: { requestPrincipals: [`${ISSUER}/alice`] } }] }] }),
    );
    expect((await get("/x")).status).toBe(403);
    const bad = await get("/x", { authorization: "Bearer abc.def.ghi" });
    expect(bad.status).toBe(401);
    expect(bad.headers["www-authenticate"]).toContain("Bearer");
    const ok = await get("/x", { authorization: `Bearer ${token}`, "x-user": "forged" });
    expect(ok.status).toBe(200);
    expect(app.lastHeaders["x-user"]).toBe("alice");
    expect(app.lastHeaders.authorization).toBeUndefined();
    expect(sidecar.stats().authz.jwtRejected).toBe(1);
    await mesh.remove("AuthorizationPolicy", "require-jwt");
  });

  it("dry-run policies are counted, not enforced", async () => {
    await applyAndWait(
      policy(
        "deny-get",
        { action: "DENY", rules: [{ to: [{ operation: { methods: ["GET"] } }] }] },
        { "istio.io/dry-run": "true" },
      ),
    );
    const before = sidecar.stats().authz.dryRunMismatch;
    expect((await get("/dry")).status).toBe(200);
    expect(sidecar.stats().authz.dryRunMismatch).toBe(before + 1);
    // Envoy's shadow stats, per policy: the would-be denial is named in stats and metrics.
    expect(sidecar.stats().authz.policies["AuthorizationPolicy/default/deny-get"]?.shadowDenied).toBe(1);
    expect(await sidecar.metrics()).toContain(
      'jibe_authz_decisions_total{policy="AuthorizationPolicy/default/deny-get",decision="shadow_denied"} 1',
    );
  });
});
