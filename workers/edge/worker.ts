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
    isolate: { version: views.knownVersion() },
    holder,
  });
});

app.all("*", async (c) => {
  const view = await currentView(c.env);
  const checked = await authz.check(c.req.raw, view?.snapshot); // 401 bad JWT, 403 RBAC
  if ("response" in checked) return checked.response;
  // Mirrored copies outlive the response: the runtime must keep them running.
  const waitUntil = (work: Promise<unknown>) => c.executionCtx.waitUntil(work);
  return routeRequest(checked.request, view, { ...deps, waitUntil });
});

export default { fetch: app.fetch };

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
