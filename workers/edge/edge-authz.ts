import type { Snapshot } from "../../control/compile/snapshot.ts";
import { authorizeWithExtAuthz } from "../engine/authorize.ts";
import { type AuthzCounters, countDecision, createAuthzCounters } from "../engine/authz-counters.ts";
import type { AuthzDecision, AuthzFacts } from "../engine/authz-facts.ts";
import { createAuthzTableCache } from "../engine/authz-table.ts";
import { checkExternally, type ExtAuthzTransport, extAuthzEndpoint } from "../engine/ext-authz.ts";
import { createJwksCache, type JwksCacheDeps } from "../engine/jwks-cache.ts";
import { authenticateRequest, createAuthnTableCache } from "../engine/request-authn.ts";
import { RESPONSE_FLAGS_HEADER } from "../engine/response-flags.ts";

/** Per-isolate authz state of the edge: compiled tables per snapshot and the JWKS cache. */
export interface EdgeAuthz {
  check(
    request: Request,
    snapshot: Snapshot | undefined,
  ): Promise<{ response: Response } | { request: Request; responseHeaders?: Record<string, string> }>;
  /** Decisions per policy (incl. dry-run shadow decisions) and ext-authz outcomes, this isolate. */
  readonly counters: AuthzCounters;
}

/** What the edge's authz needs: JWKS fetching and a clock; `extAuthz` overrides the check transport. */
export interface EdgeAuthzDeps extends JwksCacheDeps {
  /** CUSTOM policies' authorizer calls; default `fetch` to the provider's endpoint. */
  extAuthz?: (snapshot: Snapshot) => ExtAuthzTransport;
}

/**
 * The gateway's RequestAuthentication + AuthorizationPolicy, with the same engine and semantics as
 * the sidecar's inbound check: invalid JWT → 401, CUSTOM denial → the authorizer's answer with flag
 * `UAEX`, denial → 403 `RBAC: access denied` with response flag `RBAC`. The client address is `CF-Connecting-IP` (set by Cloudflare, not by the client);
 * there is no peer principal at the edge (internet clients have no mesh identity).
 *
 * @example
 * ```ts
 * const authz = createEdgeAuthz({ fetch: (u, i) => fetch(u, i), now: Date.now });
 * const checked = await authz.check(request, view?.snapshot);
 * if ("response" in checked) return checked.response;
 * ```
 */
export function createEdgeAuthz(deps: EdgeAuthzDeps): EdgeAuthz {
  const jwks = createJwksCache(deps);
  const authzTables = createAuthzTableCache();
  const authnTables = createAuthnTableCache();
  const counters = createAuthzCounters();
  const transportFor = deps.extAuthz ?? fetchTransport;
  return {
    counters,
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
      const transport = transportFor(snapshot);
      const decision = await authorizeWithExtAuthz(authzTables.tableFor(snapshot), facts, (provider, f) =>
        checkExternally(provider, f, transport),
      );
      countDecision(counters, decision);
      if (decision.dryRun && decision.dryRun.allowed !== decision.allowed) {
        const by = decision.dryRun.match
          ? ` by ${decision.dryRun.match.policy}#${decision.dryRun.match.rule}`
          : "";
        console.info(
          `jibe edge: ${facts.method} ${url.host}${url.pathname}: dry-run would ${decision.dryRun.allowed ? "allow" : "deny"}${by}`,
        );
      }
      if (!decision.allowed) return { response: denial(decision) };
      const ext = decision.extAuthz?.kind === "allowed" ? decision.extAuthz : undefined;
      const set = { ...authn.headers.set, ...ext?.upstreamHeaders };
      const responseHeaders =
        ext && Object.keys(ext.downstreamHeaders).length > 0 ? ext.downstreamHeaders : undefined;
      const extra = responseHeaders ? { responseHeaders } : {};
      if (authn.headers.remove.length === 0 && Object.keys(set).length === 0) return { request, ...extra };
      const upstream = new Headers(request.headers);
      for (const name of authn.headers.remove) upstream.delete(name);
      for (const [name, value] of Object.entries(set)) upstream.set(name, value);
      return { request: new Request(request, { headers: upstream }), ...extra };
    },
  };
}

/** Envoy's answers: the authorizer's own denial or `statusOnError` (`UAEX`), or RBAC's 403 (`RBAC`). */
function denial(decision: AuthzDecision): Response {
  const ext = decision.extAuthz;
  if (ext?.kind === "denied")
    return new Response(ext.body, {
      status: ext.status,
      headers: {
        "content-type": "text/plain; charset=utf-8",
        ...ext.headers,
        [RESPONSE_FLAGS_HEADER]: "UAEX",
      },
    });
  if (ext?.kind === "error")
    return new Response(null, { status: ext.status, headers: { [RESPONSE_FLAGS_HEADER]: "UAEX" } });
  return new Response("RBAC: access denied\n", {
    status: 403,
    headers: { "content-type": "text/plain; charset=utf-8", [RESPONSE_FLAGS_HEADER]: "RBAC" },
  });
}

/** Checks over the runtime's `fetch`, to the provider's endpoint in the snapshot, bounded by its timeout. */
function fetchTransport(snapshot: Snapshot): ExtAuthzTransport {
  return async (provider, check) => {
    const endpoint = extAuthzEndpoint(snapshot, provider);
    if (!endpoint) throw new Error(`no endpoint for ${provider.service}:${provider.port}`);
    const host = endpoint.address.includes(":") ? `[${endpoint.address}]` : endpoint.address;
    const { host: _original, "content-length": _length, ...headers } = check.headers;
    const response = await fetch(`http://${host}:${endpoint.port}${check.path}`, {
      method: check.method,
      headers,
      redirect: "manual",
      signal: AbortSignal.timeout(provider.timeoutMs),
    });
    const out: Record<string, string> = {};
    for (const [name, value] of response.headers) out[name.toLowerCase()] = value;
    return { status: response.status, headers: out, body: await response.text() };
  };
}
