import type { ExtAuthzProvider } from "../../control/compile/authz-snapshot.ts";
import type { Snapshot } from "../../control/compile/snapshot.ts";
import { parseIpAddress } from "../../control/model/ip-block.ts";
import type { AuthzFacts } from "./authz-facts.ts";
import { compileGlob } from "./authz-values.ts";

/**
 * The external authorizer of CUSTOM AuthorizationPolicies, with Envoy's HTTP ext_authz semantics
 * (what Istio's `envoyExtAuthzHttp` configures). Pure: the HTTP call is an injected
 * {@link ExtAuthzTransport}; this module builds the check request and reads the answer.
 *
 * - check request: the original method, `pathPrefix` + original path (query included), the
 *   `authorization`, `host` and `content-length: 0` headers plus request headers matching
 *   `includeRequestHeadersInCheck`, and `includeAdditionalHeadersInCheck`; no body
 * - `200` allows; headers matching `headersToUpstreamOnAllow` are set on the upstream request and
 *   `headersToDownstreamOnAllow` on the response
 * - any other status denies with that status and body; headers matching `headersToDownstreamOnDeny`
 *   (all of them when the list is empty, as Envoy does) go to the client
 * - transport failure or timeout: `statusOnError` (default 403) unless `failOpen`
 */

/** The HTTP request sent to the authorizer. */
export interface ExtAuthzCheckRequest {
  method: string;
  /** Origin-form path: `pathPrefix` + the original path and query. */
  path: string;
  /** Lower-case names. */
  headers: Record<string, string>;
}

/** The authorizer's answer. */
export interface ExtAuthzCheckResponse {
  status: number;
  /** Lower-case names. */
  headers: Record<string, string>;
  body: string;
}

/**
 * Sends a check request to the provider's service and port, giving up after `provider.timeoutMs`
 * (rejecting). Adapters implement it (sidecar: node http; edge: fetch).
 */
export type ExtAuthzTransport = (
  provider: ExtAuthzProvider,
  request: ExtAuthzCheckRequest,
) => Promise<ExtAuthzCheckResponse>;

/** What the authorizer decided, as the proxy applies it. */
export type ExtAuthzOutcome =
  | {
      kind: "allowed";
      provider: string;
      /** Set on the upstream request. */
      upstreamHeaders: Record<string, string>;
      /** Set on the response to the client. */
      downstreamHeaders: Record<string, string>;
    }
  | {
      kind: "denied";
      provider: string;
      status: number;
      headers: Record<string, string>;
      body: string;
    }
  | { kind: "error"; provider: string; status: number; reason: string }
  | { kind: "fail-open"; provider: string; reason: string };

/** Headers the check request always carries when the request has them (Envoy's fixed list). */
const ALWAYS_SENT = ["authorization", "content-length"];
/** Never copied from the authorizer's answer: they describe its own message. */
const OWN_HEADERS = new Set([
  "content-length",
  "transfer-encoding",
  "connection",
  "keep-alive",
  "host",
  "date",
]);

/**
 * Builds the check request for one request.
 *
 * @example
 * ```ts
 * buildCheckRequest(provider, { protocol: "http", method: "GET", path: "/admin?x=1", host: "httpbin", headers: {} });
 * // { method: "GET", path: "/check/admin?x=1", headers: { host: "httpbin", "content-length": "0" } }
 * ```
 */
export function buildCheckRequest(provider: ExtAuthzProvider, facts: AuthzFacts): ExtAuthzCheckRequest {
  const include = matcher(provider.includeRequestHeadersInCheck);
  const headers: Record<string, string> = {};
  for (const [name, value] of Object.entries(facts.headers ?? {})) {
    if (value === undefined) continue;
    if (ALWAYS_SENT.includes(name) || include(name)) headers[name] = value;
  }
  Object.assign(headers, provider.includeAdditionalHeadersInCheck);
  if (facts.host !== undefined) headers.host = facts.host;
  headers["content-length"] = "0";
  const path = facts.path ?? "/";
  return { method: facts.method ?? "GET", path: `${provider.pathPrefix}${path}`, headers };
}

/**
 * Reads the authorizer's answer (or the transport's failure, `undefined` + reason).
 *
 * @example
 * ```ts
 * readCheckResponse(provider, { status: 403, headers: {}, body: "denied by ext_authz" }); // { kind: "denied", status: 403, ... }
 * ```
 */
export function readCheckResponse(
  provider: ExtAuthzProvider,
  response: ExtAuthzCheckResponse | undefined,
  failure = "no answer",
): ExtAuthzOutcome {
  if (!response) {
    if (provider.failOpen) return { kind: "fail-open", provider: provider.name, reason: failure };
    return { kind: "error", provider: provider.name, status: provider.statusOnError, reason: failure };
  }
  if (response.status === 200) {
    return {
      kind: "allowed",
      provider: provider.name,
      upstreamHeaders: pick(response.headers, provider.headersToUpstreamOnAllow, false),
      downstreamHeaders: pick(response.headers, provider.headersToDownstreamOnAllow, false),
    };
  }
  return {
    kind: "denied",
    provider: provider.name,
    status: response.status,
    headers: pick(response.headers, provider.headersToDownstreamOnDeny, true),
    body: response.body,
  };
}

/**
 * Asks the provider about one request over `transport`: build, send, read.
 *
 * @example
 * ```ts
 * const outcome = await checkExternally(provider, facts, transport);
 * if (outcome.kind === "denied") respond(outcome.status, outcome.body);
 * ```
 */
export async function checkExternally(
  provider: ExtAuthzProvider,
  facts: AuthzFacts,
  transport: ExtAuthzTransport,
): Promise<ExtAuthzOutcome> {
  let response: ExtAuthzCheckResponse;
  try {
    response = await transport(provider, buildCheckRequest(provider, facts));
  } catch (error) {
    return readCheckResponse(provider, undefined, error instanceof Error ? error.message : String(error));
  }
  return readCheckResponse(provider, response);
}

function pick(
  headers: Readonly<Record<string, string>>,
  patterns: readonly string[],
  allWhenEmpty: boolean,
): Record<string, string> {
  const out: Record<string, string> = {};
  const wanted = patterns.length === 0 && allWhenEmpty ? () => true : matcher(patterns);
  for (const [name, value] of Object.entries(headers)) {
    const lower = name.toLowerCase();
    if (!OWN_HEADERS.has(lower) && wanted(lower)) out[lower] = value;
  }
  return out;
}

function matcher(patterns: readonly string[]): (name: string) => boolean {
  const tests = patterns.map((p) => compileGlob(p, true));
  return (name) => tests.some((test) => test(name));
}

/**
 * Where to send a provider's checks: `service` itself when it is an IP address, else the first
 * endpoint of the snapshot cluster `outbound|<port>||<service>`; `undefined` when there is none.
 *
 * @example
 * ```ts
 * extAuthzEndpoint(snapshot, provider); // { address: "10.0.0.7", port: 8000 }
 * ```
 */
export function extAuthzEndpoint(
  snapshot: Snapshot,
  provider: ExtAuthzProvider,
): { address: string; port: number } | undefined {
  if (parseIpAddress(provider.service)) return { address: provider.service, port: provider.port };
  const endpoint = snapshot.clusters[`outbound|${provider.port}||${provider.service}`]?.endpoints[0];
  return endpoint ? { address: endpoint.address, port: endpoint.port } : undefined;
}
