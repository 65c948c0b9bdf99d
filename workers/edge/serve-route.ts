import {
  applyHeaderPolicies,
  decideFault,
  evaluateCors,
  faultAbortAnswer,
  formatResponseFlags,
  headerPoliciesFor,
  pickEndpoint,
  pickMirrors,
  RESPONSE_FLAGS_HEADER,
  type RequestFacts,
  type ResponseFlag,
  ROUTE_HEADER,
  type RouteDecision,
  retryPolicyOf,
  rewriteRequest,
  shadowAuthority,
} from "../engine/index.ts";
import { flaggedResponse } from "./flagged-response.ts";
import { upstreamHeaders } from "./upstream.ts";
import { forwardWithRetries, type RetryDeps } from "./upstream-retry.ts";
import type { RoutingView } from "./view-cache.ts";

/** Runtime pieces a routed request needs. */
export interface ServeDeps extends RetryDeps {
  /** Keeps fire-and-forget work (mirrored copies) alive after the response (`ctx.waitUntil`). */
  waitUntil?: (work: Promise<unknown>) => void;
}

/** The largest request body kept in memory for retries and mirrors (as the sidecar). */
const MAX_BUFFERED_BODY = 1024 * 1024;

/**
 * Serves a request the engine routed, in the sidecar's order: CORS (preflights answered here),
 * fault (delay `DI`, abort `FI`), redirect / direct response (503 `NC` for a missing cluster),
 * rewrite, request headers, mirrors, then the forward with retries and timeout. Every answer gets
 * `x-jibe-route`, the CORS headers, its flags and the route's response header policies.
 *
 * @example
 * ```ts
 * const response = await serveRoute(request, url, facts, decision, view, deps);
 * ```
 */
export async function serveRoute(
  request: Request,
  url: URL,
  facts: RequestFacts,
  decision: Exclude<RouteDecision, { kind: "noRoute" }>,
  view: RoutingView,
  deps: ServeDeps,
): Promise<Response> {
  const { route } = decision;
  const destination = decision.kind === "forward" ? decision.destination : undefined;
  const policies = headerPoliciesFor(route, destination);
  const flags: ResponseFlag[] = [];
  let corsHeaders: Record<string, string> = {};
  const finish = (response: Response, more: readonly ResponseFlag[] = []): Response => {
    const out = new Response(response.body, response);
    out.headers.set(ROUTE_HEADER, route.origin);
    for (const [name, value] of Object.entries(corsHeaders)) out.headers.set(name, value);
    const all = formatResponseFlags([
      ...((out.headers.get(RESPONSE_FLAGS_HEADER) ?? "").split(",").filter(Boolean) as ResponseFlag[]),
      ...flags,
      ...more,
    ]);
    if (all) out.headers.set(RESPONSE_FLAGS_HEADER, all);
    applyHeaderPolicies(out.headers, policies, "response");
    return out;
  };

  const cors = evaluateCors(route.cors, facts);
  if (cors.kind === "preflight") return finish(new Response(null, { status: 200, headers: cors.headers }));
  if (cors.kind === "cors") corsHeaders = cors.responseHeaders;

  const fault = decideFault(route.fault, deps.random);
  if (fault.delayMs !== undefined) {
    flags.push("DI");
    await (deps.sleep ?? ((ms: number) => new Promise<void>((r) => setTimeout(r, ms))))(fault.delayMs);
  }
  if (fault.abort) {
    const answer = faultAbortAnswer(fault.abort);
    return finish(flaggedResponse(answer.status, "FI", answer.body, undefined, answer.headers));
  }

  switch (decision.kind) {
    case "redirect":
      return finish(
        new Response(null, { status: decision.status, headers: { location: decision.location } }),
      );
    case "direct": {
      if (decision.flag) return finish(flaggedResponse(decision.status, decision.flag, decision.body ?? ""));
      const bodyless = decision.status < 200 || [204, 205, 304].includes(decision.status);
      return finish(new Response(bodyless ? null : (decision.body ?? ""), { status: decision.status }));
    }
    case "forward":
      break;
    default: {
      const unknown: never = decision;
      throw new Error(`unhandled route decision ${JSON.stringify(unknown)}`);
    }
  }

  const action = route.action;
  const rewrite = action.kind === "route" ? action.rewrite : undefined;
  const target = rewriteRequest({ path: `${url.pathname}${url.search}`, authority: url.host }, rewrite);
  const headers = upstreamHeaders(request, url, deps.newRequestId);
  if (target.authority !== url.host) headers.set("host", target.authority);
  applyHeaderPolicies(headers, policies, "request");

  const mirrors = action.kind === "route" ? pickMirrors(action.mirrors, deps.random) : [];
  const wantsReplay = retryPolicyOf(action).attempts > 0 || mirrors.length > 0;
  const { body, replayable } = await requestBody(request, wantsReplay);
  if (replayable) {
    for (const name of mirrors) mirror(name, view, target.path, headers, request.method, body, deps);
  }
  const { response, flags: more } = await forwardWithRetries(
    {
      route,
      cluster: decision.cluster,
      lb: view.loadBalancer,
      method: request.method,
      path: target.path,
      headers,
      body,
      replayable,
      ...(decision.timeoutMs !== undefined ? { timeoutMs: decision.timeoutMs } : {}),
    },
    deps,
  );
  return finish(response, more);
}

/** The body to send: in memory when it may be sent more than once and is small enough. */
async function requestBody(
  request: Request,
  wantsReplay: boolean,
): Promise<{ body: BodyInit | null; replayable: boolean }> {
  if (request.method === "GET" || request.method === "HEAD" || request.body === null)
    return { body: null, replayable: true };
  const length = Number(request.headers.get("content-length") ?? Number.NaN);
  if (!wantsReplay || !(length <= MAX_BUFFERED_BODY)) return { body: request.body, replayable: false };
  return { body: await request.arrayBuffer(), replayable: true };
}

/** Fire-and-forget copy to a mirror cluster, Host marked `-shadow`; its answer is dropped. */
function mirror(
  clusterName: string,
  view: RoutingView,
  path: string,
  headers: Headers,
  method: string,
  body: BodyInit | null,
  deps: ServeDeps,
): void {
  const cluster = view.table.clusters[clusterName];
  const endpoint = cluster ? pickEndpoint(cluster, view.loadBalancer, deps.random) : undefined;
  if (!cluster || !endpoint) return;
  const copyHeaders = new Headers(headers);
  copyHeaders.set("host", shadowAuthority(headers.get("host") ?? ""));
  const host = endpoint.address.includes(":") ? `[${endpoint.address}]` : endpoint.address;
  const work = deps
    .fetch(`http://${host}:${endpoint.port}${path}`, {
      method,
      headers: copyHeaders,
      body: method === "GET" || method === "HEAD" ? null : body,
      redirect: "manual",
    })
    .then((r) => r.body?.cancel())
    .catch(() => {})
    .finally(() => view.loadBalancer.release(cluster, endpoint));
  deps.waitUntil?.(work);
}
