import type { NatsConnection } from "@nats-io/nats-core";
import type { JWK } from "jose";
import { openConfigStore } from "../../broker/config-store.ts";
import { createVerifier } from "../../broker/envelope.ts";
import { createEventPublisher } from "../../broker/event-publisher.ts";
import type { Logger } from "../../broker/logger.ts";
import { collectProxyReports } from "../../broker/proxy-report.ts";
import { loadOrCreateSigningKey } from "../../broker/signing-key-file.ts";
import { type CaAdmin, createCaAdmin } from "../../identity/ca-admin.ts";
import {
  type IdentityService,
  type IdentityServiceOptions,
  startIdentityService,
} from "../../identity/identity-service.ts";
import { createAdminApp } from "../admin/app.ts";
import { serveAdmin } from "../admin/server.ts";
import type { Readiness } from "../admin/types.ts";
import {
  type InjectionWebhook,
  type InjectionWebhookOptions,
  startInjectionWebhook,
} from "../injector/node.ts";
import { createControlPlane } from "./control-plane.ts";
import { collectEdgeMetrics } from "./edge-metrics.ts";
import { createNatsEventFeed } from "./event-feed.ts";
import { ensureHome, loadOrCreateAdminToken, removeAdminUrl, writeAdminUrl } from "./home.ts";

export interface ControlPlaneOptions {
  nc: NatsConnection;
  /** `$JIBE_HOME`: signing key, trust JWKS, admin token and admin URL live here. */
  home: string;
  /** Where the admin API listens. Default 127.0.0.1:15000; port 0 picks a free port. */
  admin?: { host?: string; port?: number };
  log?: Logger;
  /** Serve the sidecar injection webhook (HTTPS) too; off when absent. */
  injector?: Omit<InjectionWebhookOptions, "log">;
  /**
   * Run the mesh CA (identity/) too: CSRs over the bus, the trust bundle, root rotation through the
   * admin API (`/api/v1/ca`). Its CA lives in `$JIBE_HOME/ca` unless `caDir` names a plug-in CA.
   */
  identity?: Omit<IdentityServiceOptions, "nc" | "home" | "signer" | "trustJwks" | "log"> & {
    /** After a root rotation step wrote the CA files: keep them wherever else they must survive. */
    onCaFilesWritten?: (dir: string) => Promise<void>;
  };
}

export interface RunningControlPlane {
  adminUrl: string;
  token: string;
  trustJwks: { keys: JWK[] };
  /** The control plane itself, for in-process writers (the Kubernetes adapter). */
  plane: ReturnType<typeof createControlPlane>;
  /** The injection webhook, when `injector` was given: its URL and certificate (the caBundle). */
  injector?: InjectionWebhook;
  /** The mesh CA, when `identity` was given. */
  identity?: IdentityService;
  /** Stops the admin API (open event streams end). The NATS connection is the caller's. */
  stop(): Promise<void>;
}

/**
 * Starts the control plane on an open NATS connection: `$JIBE_HOME` (0700), the signing key, the admin
 * token (`admin-token`, 0600, created on first start), the config store, and the admin API, whose URL it
 * writes to `$JIBE_HOME/admin-url` for the CLI.
 *
 * @example
 * ```ts
 * const nc = await connectNats(process.env.JIBE_NATS_URL!);
 * const cp = await startControlPlane({ nc, home: jibeHome(process.env), log: console });
 * console.log(cp.adminUrl); // http://127.0.0.1:15000
 * await cp.stop();
 * ```
 */
export async function startControlPlane(opts: ControlPlaneOptions): Promise<RunningControlPlane> {
  const { nc, home, log } = opts;
  await ensureHome(home, log);
  const { signer, trustJwks } = await loadOrCreateSigningKey(home);
  const token = await loadOrCreateAdminToken(home);
  const verifier = await createVerifier(trustJwks);
  const store = await openConfigStore(nc);
  const plane = createControlPlane({
    store,
    publisher: createEventPublisher(nc, signer),
    signer,
    verifier,
    ...(log ? { log } : {}),
  });
  const { onCaFilesWritten, ...identityOptions } = opts.identity ?? {};
  const identity = opts.identity
    ? await startIdentityService({ ...identityOptions, nc, home, signer, trustJwks, ...(log ? { log } : {}) })
    : undefined;
  const ca: CaAdmin | undefined = identity
    ? createCaAdmin({
        identity,
        ...(onCaFilesWritten ? { onCaFilesWritten } : {}),
        ...(log ? { log } : {}),
      })
    : undefined;
  const edgeMetrics = collectEdgeMetrics(nc, log);
  const app = createAdminApp({
    plane,
    token,
    trustJwks,
    events: createNatsEventFeed(nc, verifier, log),
    ready: () => natsReadiness(nc),
    prometheus: () => edgeMetrics.aggregate.text(),
    proxyReports: () => collectProxyReports(nc),
    ...(ca ? { ca } : {}),
    ...(log ? { log } : {}),
  });
  const server = await serveAdmin(app, {
    host: opts.admin?.host ?? "127.0.0.1",
    port: opts.admin?.port ?? 15000,
  }).catch(async (error) => {
    edgeMetrics.stop();
    await identity?.stop();
    throw error;
  });
  await writeAdminUrl(home, server.url);
  const injector = opts.injector
    ? await startInjectionWebhook({ ...opts.injector, ...(log ? { log } : {}) }).catch(async (error) => {
        await server.close();
        edgeMetrics.stop();
        await identity?.stop();
        throw error;
      })
    : undefined;
  if (injector) log?.info(`sidecar injection webhook listening on ${injector.url}`);
  log?.info(`admin API listening on ${server.url} (token in ${home}/admin-token)`);

  let stopping: Promise<void> | undefined;
  return {
    adminUrl: server.url,
    token,
    trustJwks,
    plane,
    ...(injector ? { injector } : {}),
    ...(identity ? { identity } : {}),
    stop() {
      stopping ??= (async () => {
        await injector?.stop();
        await identity?.stop();
        edgeMetrics.stop();
        await server.close();
        await removeAdminUrl(home, server.url);
      })();
      return stopping;
    },
  };
}

async function natsReadiness(nc: NatsConnection): Promise<Readiness> {
  if (nc.isClosed()) return { ready: false, checks: { nats: "connection closed" } };
  try {
    const rtt = await withTimeout(nc.rtt(), 2_000);
    return { ready: true, checks: { nats: `ok (rtt ${rtt} ms)` } };
  } catch (error) {
    return { ready: false, checks: { nats: error instanceof Error ? error.message : String(error) } };
  }
}

function withTimeout<T>(promise: Promise<T>, ms: number): Promise<T> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`no answer within ${ms} ms`)), ms);
  });
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}
