import { DurableObject } from "cloudflare:workers";
import type { DurableObjectNamespace, DurableObjectState } from "@cloudflare/workers-types";
import { createVerifier, type Verifier } from "../../broker/envelope.ts";
import type { PolicyState, PolicySyncStats } from "../../broker/policy-sync.ts";
import { createIncrementalCompiler } from "../../control/compile/incremental.ts";
import type { Diagnostic, ProxyIdentity, Snapshot } from "../../control/compile/snapshot.ts";
import type { RequestRecord } from "../telemetry/index.ts";
import { type EdgeConfigResult, type EdgeVars, readEdgeConfig } from "./edge-config.ts";
import type { EdgeTelemetrySettings } from "./edge-telemetry.ts";
import { openPolicySession, type PolicySession } from "./policy-session.ts";
import {
  createTelemetryReporter,
  type EdgeTelemetryVars,
  readEdgeTelemetryVars,
  type TelemetryReporter,
} from "./telemetry-push.ts";
import type { SnapshotReply } from "./view-cache.ts";

/** The worker's bindings: the vars plus the Durable Object namespace holding the policy. */
export interface EdgeEnv extends EdgeVars, EdgeTelemetryVars {
  POLICY: DurableObjectNamespace<PolicyHolder>;
}

/** What `/__jibe/status` shows about the holder. Plain data (it crosses RPC). */
export interface HolderStatus {
  /** Changes when workerd recreated the object (eviction, restart): a stable id means one long-lived holder. */
  instanceId: string;
  startedAt: number;
  proxy?: ProxyIdentity;
  configProblems: string[];
  /** Connected to NATS right now (false while the client is reconnecting). */
  connected: boolean;
  /** Since when the connection has been down, while it is. */
  disconnectedAt?: number;
  /** Sessions opened by this instance; more than 1 means the connection was lost and re-made. */
  connects: number;
  connectedAt?: number;
  lastError?: string;
  snapshot?: { version: string; revision: number; virtualHosts: number; clusters: number; restored: boolean };
  lastChange?: { at: number; reason: PolicyState["reason"]; revision: number };
  diagnostics: Diagnostic[];
  sync?: PolicySyncStats;
  nextAlarm?: number;
  /** Metric batches published, series dropped while disconnected, spans exported / failed. */
  telemetry?: TelemetryReporter["stats"];
}

const SNAPSHOT_KEY = "snapshot";
/** How long a request waits for the first sync when the holder has no snapshot at all. */
const FIRST_SYNC_WAIT_MS = 5_000;
const MAX_RETRY_MS = 30_000;

/**
 * Durable Object that holds the edge's one long-lived NATS connection, runs policy sync on it and
 * compiles the edge's snapshot. Workers call `snapshotIfNewer` per request (cheap when unchanged).
 *
 * A DO is the only place workerd lets I/O objects outlive a request. It is kept in memory, and
 * brought back after an eviction or restart, by an alarm every `JIBE_KEEPALIVE_MS` (30 s): each
 * alarm reopens the session if it is gone. The last snapshot is persisted so a recreated holder
 * serves last-known-good policy while it reconnects.
 *
 * @example
 * ```ts
 * const holder = env.POLICY.get(env.POLICY.idFromName("policy"));
 * const { version, snapshot } = await holder.snapshotIfNewer(knownVersion);
 * ```
 */
export class PolicyHolder extends DurableObject<EdgeEnv> {
  readonly #instanceId = crypto.randomUUID();
  readonly #startedAt = Date.now();
  readonly #config: EdgeConfigResult;
  #verifier?: Promise<Verifier>;
  #session?: PolicySession;
  #opening?: Promise<void>;
  #snapshot?: Snapshot;
  #restored = false;
  #diagnostics: Diagnostic[] = [];
  #lastChange?: HolderStatus["lastChange"];
  #connects = 0;
  #failures = 0;
  #lastError?: string;
  #telemetry?: TelemetryReporter;
  #telemetryFlushMs = 1000;
  #flushTimer?: ReturnType<typeof setTimeout>;

  constructor(ctx: DurableObjectState, env: EdgeEnv) {
    super(ctx, env);
    this.#config = readEdgeConfig(env);
    if (!this.#config.ok) console.error(`jibe edge: config invalid: ${this.#config.problems.join("; ")}`);
    else {
      const telemetry = readEdgeTelemetryVars(env);
      for (const problem of telemetry.problems) console.warn(`jibe edge: telemetry: ${problem}`);
      this.#telemetryFlushMs = telemetry.flushMs;
      this.#telemetry = createTelemetryReporter({
        proxy: this.#config.config.proxy,
        mesh: telemetry.mesh,
        ...(telemetry.clusterId ? { clusterId: telemetry.clusterId } : {}),
        ...(telemetry.otlpEndpoint ? { otlpEndpoint: telemetry.otlpEndpoint } : {}),
        resources: () => this.#session?.sync.state.resources,
        publish: (subject, data) => {
          const nc = this.#session?.nc;
          if (!nc || nc.isClosed() || this.#session?.disconnectedAt !== undefined) return false;
          nc.publish(subject, data);
          return true;
        },
        fetch: (url, init) => fetch(url, init),
        clock: Date.now,
        log: console,
      });
    }
    void ctx.blockConcurrencyWhile(() => this.#restore());
  }

  /** The current snapshot, or only its version when the caller already holds it. */
  async snapshotIfNewer(version?: string): Promise<SnapshotReply> {
    await this.#ensureSession(this.#snapshot ? 0 : FIRST_SYNC_WAIT_MS);
    const snapshot = this.#snapshot;
    if (!snapshot) return { version: "" };
    return snapshot.version === version ? { version } : { version: snapshot.version, snapshot };
  }

  /** Sampling, host-header fallback and identity for the edge's trace headers and metric labels. */
  async telemetrySettings(): Promise<EdgeTelemetrySettings | undefined> {
    return this.#telemetry?.settings();
  }

  /** One completed edge request: metric deltas and span, sent within `JIBE_TELEMETRY_FLUSH_MS`. */
  async report(record: RequestRecord): Promise<void> {
    const telemetry = this.#telemetry;
    if (!telemetry) return;
    telemetry.report(record);
    this.#flushTimer ??= setTimeout(() => {
      this.#flushTimer = undefined;
      void telemetry.flush();
    }, this.#telemetryFlushMs);
  }

  /** Connection, snapshot and sync counters, for `/__jibe/status`. */
  async status(): Promise<HolderStatus> {
    await this.#ensureSession(0);
    const s = this.#snapshot;
    return {
      instanceId: this.#instanceId,
      startedAt: this.#startedAt,
      proxy: this.#config.ok ? this.#config.config.proxy : undefined,
      configProblems: this.#config.ok ? [] : this.#config.problems,
      connected: this.#session !== undefined && this.#session.disconnectedAt === undefined,
      disconnectedAt: this.#session?.disconnectedAt,
      connects: this.#connects,
      connectedAt: this.#session?.connectedAt,
      lastError: this.#lastError,
      snapshot: s && {
        version: s.version,
        revision: s.revision,
        virtualHosts: s.virtualHosts.length,
        clusters: Object.keys(s.clusters).length,
        restored: this.#restored,
      },
      lastChange: this.#lastChange,
      diagnostics: this.#diagnostics.slice(0, 50),
      sync: this.#session && { ...this.#session.sync.stats },
      nextAlarm: (await this.ctx.storage.getAlarm()) ?? undefined,
      ...(this.#telemetry ? { telemetry: { ...this.#telemetry.stats } } : {}),
    };
  }

  /** Keep-alive: reopens a lost session and re-arms itself, so the holder never idles out. */
  override async alarm(): Promise<void> {
    await this.#ensureSession(FIRST_SYNC_WAIT_MS);
    await this.#scheduleAlarm();
  }

  async #restore(): Promise<void> {
    const stored = await this.ctx.storage.get<Snapshot>(SNAPSHOT_KEY);
    // A snapshot compiled for another identity (vars changed) is not last-known-good for this one.
    if (stored && this.#config.ok && sameProxy(stored.proxy, this.#config.config.proxy)) {
      this.#snapshot = stored;
      this.#restored = true;
    }
    await this.#scheduleAlarm();
    void this.#ensureSession(0);
  }

  async #ensureSession(waitMs: number): Promise<void> {
    if (!this.#config.ok || (this.#session && !this.#session.nc.isClosed())) return;
    this.#opening ??= this.#open().finally(() => {
      this.#opening = undefined;
    });
    if (waitMs > 0) await waitAtMost(this.#opening, waitMs);
  }

  async #open(): Promise<void> {
    if (!this.#config.ok) return;
    const { natsWsUrl, natsAuth, trustJwks, proxy } = this.#config.config;
    try {
      this.#verifier ??= createVerifier(trustJwks);
      const verifier = await this.#verifier;
      // A fresh compiler per session: the initial state of a new sync is a complete resource set.
      const compiler = createIncrementalCompiler(proxy);
      const session = await openPolicySession({
        natsWsUrl,
        natsAuth,
        name: `jibe ${proxy.id}`,
        verifier,
        log: console,
        onChange: (state) => {
          const result = compiler.update(state);
          this.#accept(result.snapshot, result.diagnostics, state);
        },
      });
      this.#session = session;
      this.#connects += 1;
      this.#failures = 0;
      this.#lastError = undefined;
      console.info(`jibe edge: policy sync on ${natsWsUrl} (revision ${session.sync.state.revision})`);
      void session.closed.then((error) => this.#onClosed(session, error));
    } catch (error) {
      this.#verifier = undefined;
      this.#failures += 1;
      this.#lastError = `connect ${natsWsUrl}: ${error instanceof Error ? error.message : String(error)}`;
      console.warn(
        `jibe edge: ${this.#lastError} (attempt ${this.#failures}; keeping last-known-good policy)`,
      );
      await this.#scheduleAlarm();
    }
  }

  #accept(snapshot: Snapshot, diagnostics: Diagnostic[], state: PolicyState): void {
    const changed = snapshot.version !== this.#snapshot?.version;
    this.#snapshot = snapshot;
    this.#restored = false;
    this.#diagnostics = diagnostics;
    this.#lastChange = { at: Date.now(), reason: state.reason, revision: state.revision };
    if (changed) {
      this.ctx.storage
        .put(SNAPSHOT_KEY, snapshot)
        .catch((error: unknown) => console.warn(`jibe edge: persisting snapshot failed: ${String(error)}`));
    }
  }

  async #onClosed(session: PolicySession, error: Error | undefined): Promise<void> {
    if (this.#session !== session) return;
    this.#session = undefined;
    this.#lastError = `connection closed${error ? `: ${error.message}` : ""}`;
    console.warn(`jibe edge: ${this.#lastError}; reconnecting, keeping last-known-good policy`);
    await session.close();
    await this.#scheduleAlarm();
  }

  /** Next alarm: the keep-alive period when healthy, a capped backoff while disconnected. */
  async #scheduleAlarm(): Promise<void> {
    if (!this.#config.ok) return;
    const keepAliveMs = this.#config.config.keepAliveMs;
    const healthy = this.#session !== undefined;
    if (healthy && keepAliveMs === 0) return;
    const delay = healthy ? keepAliveMs : Math.min(MAX_RETRY_MS, 1_000 * 2 ** Math.min(this.#failures, 5));
    const at = Date.now() + delay;
    const current = await this.ctx.storage.getAlarm();
    if (current === null || current > at) await this.ctx.storage.setAlarm(at);
  }
}

function sameProxy(a: ProxyIdentity, b: ProxyIdentity): boolean {
  const gateways = (p: ProxyIdentity) => [...(p.gateways ?? [])].sort().join(",");
  return a.id === b.id && a.namespace === b.namespace && a.role === b.role && gateways(a) === gateways(b);
}

/** Waits for `promise`, but no longer than `ms` (the promise keeps running). */
async function waitAtMost(promise: Promise<void>, ms: number): Promise<void> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  await Promise.race([promise, new Promise<void>((resolve) => (timer = setTimeout(resolve, ms)))]);
  clearTimeout(timer);
}
