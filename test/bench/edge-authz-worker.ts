import { exportJWK, generateKeyPair, SignJWT } from "jose";
import { compile } from "../../control/compile/compile.ts";
import type { ProxyIdentity, Snapshot } from "../../control/compile/snapshot.ts";
import { createEdgeAuthz, type EdgeAuthz } from "../../workers/edge/edge-authz.ts";
import { type PolicyKind, policies } from "./authz-policies.ts";

/**
 * Benchmark worker (run in workerd by edge-authz.ts): the edge's real authz path
 * (`createEdgeAuthz().check`: request facts, JWT verification with jose over Web Crypto, the
 * decision) on a snapshot compiled inside the worker.
 *
 * - `GET /prepare?policies=N&kind=globs&alg=ES256`: compiles N policies + a RequestAuthentication
 *   with an inline key generated here, signs a token
 * - `GET /run?n=K&jwt=1`: K sequential checks in this one request; answers the in-worker timer
 *   readings (`performance.now()` and `Date.now()`, which workerd may coarsen or freeze between
 *   I/O, so the runner also times the request from outside)
 */

const ISSUER = "https://issuer.bench";
const proxy: ProxyIdentity = {
  id: "edge~bench",
  role: "gateway",
  namespace: "bench",
  labels: { app: "edge" },
  gateways: ["bench/edge"],
};

let state: { snapshot: Snapshot; token: string; authz: EdgeAuthz } | undefined;

async function prepare(count: number, kind: PolicyKind, alg: "ES256" | "RS256"): Promise<Response> {
  const { privateKey, publicKey } = await generateKeyPair(alg);
  const jwks = JSON.stringify({ keys: [{ ...(await exportJWK(publicKey)), kid: alg, alg }] });
  const token = await new SignJWT({ groups: ["g"] })
    .setProtectedHeader({ alg, kid: alg })
    .setIssuer(ISSUER)
    .setSubject("alice")
    .setExpirationTime("1h")
    .sign(privateKey);
  const { snapshot } = compile(
    [
      {
        apiVersion: "security.istio.io/v1",
        kind: "RequestAuthentication",
        metadata: { name: "jwt", namespace: "bench" },
        spec: { jwtRules: [{ issuer: ISSUER, jwks }] },
      },
      ...policies(count, kind, undefined),
    ],
    proxy,
  );
  const offline = async (): Promise<Response> => {
    throw new Error("the benchmark uses inline keys");
  };
  state = { snapshot, token, authz: createEdgeAuthz({ fetch: offline, now: Date.now }) };
  return Response.json({ policies: snapshot.authz?.policies.length ?? 0 });
}

async function run(n: number, withJwt: boolean): Promise<Response> {
  if (!state) return new Response("call /prepare first\n", { status: 409 });
  const { snapshot, token, authz } = state;
  const headers: Record<string, string> = { "x-tenant": "tenant-x", "cf-connecting-ip": "10.1.2.3" };
  if (withJwt) headers.authorization = `Bearer ${token}`;
  const url = "https://api.bench.example.com/tenants/7/orders/999999/x";
  const perfStart = performance.now();
  const dateStart = Date.now();
  let status = 0;
  for (let i = 0; i < n; i++) {
    const checked = await authz.check(new Request(url, { headers }), snapshot);
    status = "response" in checked ? checked.response.status : 200;
  }
  return Response.json({ n, perfMs: performance.now() - perfStart, dateMs: Date.now() - dateStart, status });
}

export default {
  async fetch(request: Request): Promise<Response> {
    const url = new URL(request.url);
    const number = (name: string, fallback: number) => Number(url.searchParams.get(name) ?? fallback);
    if (url.pathname === "/prepare")
      return prepare(
        number("policies", 1000),
        (url.searchParams.get("kind") ?? "globs") as PolicyKind,
        url.searchParams.get("alg") === "RS256" ? "RS256" : "ES256",
      );
    if (url.pathname === "/run") return run(number("n", 100), url.searchParams.get("jwt") !== "0");
    return new Response("try /prepare or /run\n", { status: 404 });
  },
};
