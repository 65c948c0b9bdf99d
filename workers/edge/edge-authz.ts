import type { Snapshot } from "../../control/compile/snapshot.ts";
import { authorize } from "../engine/authorize.ts";
import type { AuthzFacts } from "../engine/authz-facts.ts";
import { createAuthzTableCache } from "../engine/authz-table.ts";
import { createJwksCache, type JwksCacheDeps } from "../engine/jwks-cache.ts";
import { authenticateRequest, createAuthnTableCache } from "../engine/request-authn.ts";
import { RESPONSE_FLAGS_HEADER } from "../engine/response-flags.ts";

/** Per-isolate authz state of the edge: compiled tables per snapshot and the JWKS cache. */
export interface EdgeAuthz {
  check(
    request: Request,
    snapshot: Snapshot | undefined,
  ): Promise<{ response: Response } | { request: Request }>;
}

/**
 * The gateway's RequestAuthentication + AuthorizationPolicy, with the same engine and semantics as
 * the sidecar's inbound check: invalid JWT → 401, denial → 403 `RBAC: access denied` with response
 * flag `RBAC`. The client address is `CF-Connecting-IP` (set by Cloudflare, not by the client);
 * there is no peer principal at the edge (internet clients have no mesh identity).
 *
 * @example
 * ```ts
 * const authz = createEdgeAuthz({ fetch: (u, i) => fetch(u, i), now: Date.now });
 * const checked = await authz.check(request, view?.snapshot);
 * if ("response" in checked) return checked.response;
 * ```
 */
export function createEdgeAuthz(deps: JwksCacheDeps): EdgeAuthz {
  const jwks = createJwksCache(deps);
  const authzTables = createAuthzTableCache();
  const authnTables = createAuthnTableCache();
  return {
    async check(request, snapshot) {
      if (!snapshot?.authz) return { request };
      const url = new URL(request.url);
      const headers: Record<string, string> = {};
      for (const [name, value] of request.headers) headers[name.toLowerCase()] = value;
      const path = `${url.pathname}${url.search}`;
      const authn = await authenticateRequest(
        authnTables.tableFor(snapshot),
        { headers, path },
        { jwks, now: deps.now },
      );
      if (authn.kind === "rejected") {
        return {
          response: new Response(`${authn.reason}\n`, {
            status: 401,
            headers: {
              "content-type": "text/plain; charset=utf-8",
              "www-authenticate": 'Bearer realm="jibe", error="invalid_token"',
            },
          }),
        };
      }
      const client = headers["cf-connecting-ip"];
      const facts: AuthzFacts = {
        protocol: "http",
        host: url.host,
        method: request.method.toUpperCase(),
        path,
        headers,
        destinationPort: url.port ? Number(url.port) : url.protocol === "https:" ? 443 : 80,
        ...(client ? { sourceIp: client, remoteIp: client } : {}),
        ...(authn.kind === "authenticated" ? { request: authn.identity } : {}),
      };
      const decision = authorize(authzTables.tableFor(snapshot), facts);
      if (decision.dryRun && decision.dryRun.allowed !== decision.allowed) {
        const by = decision.dryRun.match
          ? ` by ${decision.dryRun.match.policy}#${decision.dryRun.match.rule}`
          : "";
        console.info(
          `jibe edge: ${facts.method} ${url.host}${url.pathname}: dry-run would ${decision.dryRun.allowed ? "allow" : "deny"}${by}`,
        );
      }
      if (!decision.allowed) {
        return {
          response: new Response("RBAC: access denied\n", {
            status: 403,
            headers: { "content-type": "text/plain; charset=utf-8", [RESPONSE_FLAGS_HEADER]: "RBAC" },
          }),
        };
      }
      if (authn.headers.remove.length === 0 && Object.keys(authn.headers.set).length === 0)
        return { request };
      const upstream = new Headers(request.headers);
      for (const name of authn.headers.remove) upstream.delete(name);
      for (const [name, value] of Object.entries(authn.headers.set)) upstream.set(name, value);
      return { request: new Request(request, { headers: upstream }) };
    },
  };
}
