/**
 * Jibe edge worker: a gateway proxy on Cloudflare Workers. The `PolicyHolder` Durable Object keeps
 * the signed policy in sync over NATS; this worker asks it for the current snapshot, routes with
 * the shared engine and forwards to the chosen endpoint.
 *
 * @example
 * ```sh
 * npx wrangler dev -c workers/edge/wrangler.jsonc --var JIBE_NATS_WS_URL:ws://127.0.0.1:4223 \
 *   --var "JIBE_TRUST_JWKS:$(cat ~/.jibe/trust.jwks.json)"
 * curl -H 'host: bookinfo.example.com' http://127.0.0.1:8787/productpage
 * ```
 */
import { Hono } from "hono";
import { createEdgeAuthz } from "./edge-authz.ts";
import {
  beginEdgeHop,
  cacheTelemetrySettings,
  type EdgeRouting,
  type EdgeTelemetrySettings,
  finishEdgeHop,
} from "./edge-telemetry.ts";
import type { EdgeEnv, HolderStatus } from "./policy-holder.ts";
import { type RouteDeps, routeRequest } from "./route-request.ts";
import { createViewCache, type RoutingView } from "./view-cache.ts";

export { PolicyHolder } from "./policy-holder.ts";

/** Name of the one holder every isolate of this edge asks. */
const HOLDER_NAME = "policy";

// Per isolate, deliberately: snapshots and route tables are plain data and may outlive a request.
// The NATS connection may not (workerd ties I/O to a request), so it lives in the Durable Object.
const views = createViewCache();

const deps: RouteDeps = {
  fetch: (input, init) => fetch(input, init),
  random: Math.random,
  newRequestId: () => crypto.randomUUID(),
};

// Per isolate too: compiled authz tables (plain data) and the JWKS key cache.
const authz = createEdgeAuthz({ fetch: (url, init) => fetch(url, init), now: Date.now });

const app = new Hono<{ Bindings: EdgeEnv }>();

app.get("/__jibe/healthz", async (c) => {
  const status = await holderOf(c.env).status();
  const ready = status.configProblems.length === 0 && status.snapshot !== undefined;
  return c.json(
    {
      ready,
      connected: status.connected,
      version: status.snapshot?.version,
      problems: status.configProblems,
      lastError: status.lastError,
    },
    ready ? 200 : 503,
  );
});

app.get("/__jibe/status", async (c) => {
  const holder: HolderStatus = await holderOf(c.env).status();
  // Top-level fields named like the sidecar's `/stats`, so tools read either proxy the same way.
  return c.json({
    proxy: holder.proxy?.id,
    version: holder.snapshot?.version,
    revision: holder.snapshot?.revision,
    connected: holder.connected,
    sync: holder.sync,
    isolate: { version: views.knownVersion(), authz: authz.counters },
    holder,
  });
});

app.all("*", async (c) => {
  const view = await currentView(c.env);
  const settings = await telemetrySettings(c.env);
  // Trace headers, x-request-id and peer metadata first, so every answer (even 403) is one hop.
  const hop = settings && beginEdgeHop(c.req.raw, settings, telemetryDeps);
  const request = hop?.request ?? c.req.raw;
  const routing: EdgeRouting = {};
  const checked = await authz.check(request, view?.snapshot); // 401 bad JWT, 403 RBAC
  // Mirrored copies outlive the response: the runtime must keep them running.
  const waitUntil = (work: Promise<unknown>) => c.executionCtx.waitUntil(work);
  const routed =
    "response" in checked
      ? checked.response
      : await routeRequest(checked.request, view, {
          ...deps,
          waitUntil,
          onDecision: (decision) => {
            if (decision.kind !== "forward") return;
            routing.service = decision.cluster.service;
            routing.cluster = decision.cluster.name;
          },
        });
  // Headers a CUSTOM policy's authorizer asked to add to the response (headersToDownstreamOnAllow).
  const response = "responseHeaders" in checked ? withHeaders(routed, checked.responseHeaders) : routed;
  if (!hop || !settings) return response;
  // Metrics and span go to the holder once the body has streamed (kept alive with waitUntil).
  return finishEdgeHop(hop, response, {
    settings,
    routing,
    snapshot: view?.snapshot,
    report: (record) => holderOf(c.env).report(record),
    waitUntil,
  });
});

export default { fetch: app.fetch };

const telemetryDeps = {
  randomHex: (bytes: number) =>
    [...crypto.getRandomValues(new Uint8Array(bytes))].map((b) => b.toString(16).padStart(2, "0")).join(""),
  randomUUID: () => crypto.randomUUID(),
  now: Date.now,
};

// Per isolate (plain data): the holder is asked at most once a second, not per request.
const telemetrySettingsCache = cacheTelemetrySettings(Date.now);

function telemetrySettings(env: EdgeEnv): Promise<EdgeTelemetrySettings | undefined> {
  return telemetrySettingsCache(() => holderOf(env).telemetrySettings());
}

function holderOf(env: EdgeEnv) {
  return env.POLICY.get(env.POLICY.idFromName(HOLDER_NAME));
}

async function currentView(env: EdgeEnv): Promise<RoutingView | undefined> {
  const known = views.knownVersion();
  try {
    const holder = holderOf(env);
    const reply = await holder.snapshotIfNewer(known);
    const view = views.resolve(reply);
    if (view || reply.version === "") return view;
    // Another request evicted our version between asking and resolving: fetch the full snapshot.
    return views.resolve(await holder.snapshotIfNewer());
  } catch (error) {
    // The holder is unreachable (restarting, overloaded): route on this isolate's last-known-good view.
    console.warn(`jibe edge: policy holder unavailable: ${String(error)}`);
    return known === undefined ? undefined : views.resolve({ version: known });
  }
}

function withHeaders(response: Response, headers: Record<string, string> | undefined): Response {
  if (!headers) return response;
  const out = new Response(response.body, response);
  for (const [name, value] of Object.entries(headers)) out.headers.set(name, value);
  return out;
}
