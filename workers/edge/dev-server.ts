import { fileURLToPath } from "node:url";
import type { JWK } from "jose";
import { unstable_startWorker } from "wrangler";
import { DEFAULT_EDGE_GATEWAYS } from "./edge-config.ts";
import type { EdgeTelemetryVars } from "./telemetry-push.ts";

/** Options of {@link startEdgeWorker}. */
export interface EdgeWorkerOptions {
  /** NATS WebSocket URL the policy holder connects to, e.g. `ws://127.0.0.1:4223`. */
  natsWsUrl: string;
  /** The control plane's public JWKS. */
  trustJwks: { keys: JWK[] } | object;
  /** Default 8787; 0 picks a free port. */
  port?: number;
  /** Default 127.0.0.1. */
  host?: string;
  /** Gateways (`namespace/name`) the edge implements; default `default/jibe-edge`. */
  gateways?: string[];
  /** Namespace of the edge proxy; default `default`. */
  namespace?: string;
  /** How long to wait for the first policy sync (healthz 200); default 20 s. */
  readyTimeoutMs?: number;
  /** Telemetry vars (`JIBE_TRACE_SAMPLING`, `JIBE_OTLP_ENDPOINT`, `JIBE_TELEMETRY_FLUSH_MS`, ...). */
  telemetry?: EdgeTelemetryVars;
  /** Wrangler's log level (request log, worker console); default its own (`log`, or `WRANGLER_LOG`). */
  logLevel?: "debug" | "info" | "log" | "warn" | "error" | "none";
}

/** A running edge worker. */
export interface EdgeWorkerHandle {
  /** Base URL, e.g. `http://127.0.0.1:8787`. */
  url: string;
  /** Stops the worker and its workerd process. */
  stop(): Promise<void>;
}

const CONFIG_PATH = fileURLToPath(new URL("./wrangler.jsonc", import.meta.url));

/**
 * Runs the edge worker in a local workerd (wrangler's `unstable_startWorker`, what `wrangler dev`
 * runs) and resolves once its policy holder has synced, i.e. once `/__jibe/healthz` answers 200.
 * State is in memory only (`persist: false`), so a run never restores another run's policy.
 *
 * @example
 * ```ts
 * const edge = await startEdgeWorker({ natsWsUrl: nats.wsUrl, trustJwks, port: 0 });
 * await fetch(`${edge.url}/productpage`);
 * await edge.stop();
 * ```
 */
export async function startEdgeWorker(opts: EdgeWorkerOptions): Promise<EdgeWorkerHandle> {
  process.env.WRANGLER_SEND_METRICS ??= "false";
  const plain = (value: string) => ({ type: "plain_text" as const, value });
  const worker = await unstable_startWorker({
    config: CONFIG_PATH,
    bindings: {
      JIBE_NATS_WS_URL: plain(opts.natsWsUrl),
      JIBE_TRUST_JWKS: plain(JSON.stringify(opts.trustJwks)),
      JIBE_NAMESPACE: plain(opts.namespace ?? "default"),
      JIBE_GATEWAYS: plain((opts.gateways ?? DEFAULT_EDGE_GATEWAYS).join(",")),
      ...Object.fromEntries(
        Object.entries(opts.telemetry ?? {}).flatMap(([name, value]) =>
          value === undefined ? [] : [[name, plain(value)]],
        ),
      ),
    },
    dev: {
      server: { hostname: opts.host ?? "127.0.0.1", port: opts.port ?? 8787 },
      inspector: false,
      watch: false,
      liveReload: false,
      persist: false,
      ...(opts.logLevel ? { logLevel: opts.logLevel } : {}),
    },
  });
  const stop = () => worker.dispose();
  try {
    await worker.ready;
    const url = (await worker.url).origin;
    await waitUntilReady(url, opts.readyTimeoutMs ?? 20_000);
    return { url, stop };
  } catch (error) {
    await stop().catch(() => undefined);
    throw error;
  }
}

async function waitUntilReady(url: string, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  let last = "no answer";
  while (Date.now() < deadline) {
    try {
      const response = await fetch(`${url}/__jibe/healthz`);
      last = `${response.status} ${await response.text()}`;
      if (response.ok) return;
    } catch (error) {
      last = String(error);
    }
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  throw new Error(`edge worker at ${url} not ready after ${timeoutMs} ms: /__jibe/healthz said ${last}`);
}
