import type { NatsConnection } from "@nats-io/nats-core";
import type { Verifier } from "../../broker/envelope.ts";
import type { Logger } from "../../broker/logger.ts";
import { type PolicyState, type PolicySync, startPolicySync } from "../../broker/policy-sync.ts";
import { createIncrementalCompiler } from "../../control/compile/incremental.ts";
import type { Diagnostic, ProxyIdentity, Snapshot } from "../../control/compile/snapshot.ts";
import { buildRouteTable, type RouteTable } from "../engine/index.ts";

/** A compiled snapshot and the route table built from it; replaced as a whole, never mutated. */
export interface RouteGeneration {
  readonly snapshot: Snapshot;
  readonly table: RouteTable;
}

/** Gives the route generation to use for a request that starts now. */
export interface RouteSource {
  current(): RouteGeneration;
}

/** Counters of the compile step. */
export interface CompileStats {
  /** Policy states received from the sync. */
  updates: number;
  /** Times a new route table was installed. */
  swaps: number;
  /** Compiles that threw (the previous generation stayed in use). */
  failures: number;
  /** Diagnostics of the last compile. */
  diagnostics: Diagnostic[];
}

/** The live routing policy of one proxy. */
export interface RoutePolicy extends RouteSource {
  readonly sync: PolicySync;
  readonly compile: CompileStats;
  stop(): Promise<void>;
}

/** Options of {@link startRoutePolicy}. */
export interface RoutePolicyOptions {
  nc: NatsConnection;
  verifier: Verifier;
  proxy: ProxyIdentity;
  log: Logger;
  /** Called after a new generation was installed (e.g. to close pools of removed endpoints). */
  onSwap?(generation: RouteGeneration): void;
}

/**
 * Follows signed policy on NATS (`startPolicySync`), compiles this proxy's view incrementally and
 * builds the engine's route table. The current generation is one reference, swapped in a single
 * assignment: a request takes it once when it starts and keeps it to the end, so updates never
 * disturb requests in flight. Invalid policy fails closed as the compiler decides; its diagnostics
 * are logged when they change.
 *
 * @example
 * ```ts
 * const policy = await startRoutePolicy({ nc, verifier, proxy, log: console });
 * decideRoute(policy.current().table, facts, Math.random);
 * ```
 */
export async function startRoutePolicy(options: RoutePolicyOptions): Promise<RoutePolicy> {
  const { proxy, log } = options;
  const compiler = createIncrementalCompiler(proxy);
  const empty = compiler.update({ resources: new Map(), changed: new Set(), revision: 0 });
  let current: RouteGeneration = { snapshot: empty.snapshot, table: buildRouteTable(empty.snapshot) };
  const compile: CompileStats = { updates: 0, swaps: 0, failures: 0, diagnostics: [] };
  let reported = new Set<string>();

  const onChange = (state: PolicyState) => {
    compile.updates++;
    try {
      const result = compiler.update(state);
      reported = reportDiagnostics(log, proxy.id, result.diagnostics, reported);
      compile.diagnostics = result.diagnostics;
      if (result.changed) {
        current = { snapshot: result.snapshot, table: buildRouteTable(result.snapshot) };
        compile.swaps++;
        log.debug(
          `sidecar ${proxy.id}: routes ${result.snapshot.version} at revision ${state.revision} (${state.reason})`,
        );
        options.onSwap?.(current);
      } else if (result.snapshot.revision !== current.snapshot.revision) {
        // Same behaviour, newer revision: keep the table, report the revision we are at.
        current = { snapshot: result.snapshot, table: current.table };
      }
    } catch (error) {
      compile.failures++;
      log.error(
        `sidecar ${proxy.id}: compiling revision ${state.revision} failed, keeping the previous routes: ${String(error)}`,
      );
    }
  };

  const sync = await startPolicySync({ nc: options.nc, verifier: options.verifier, onChange, log });
  return {
    sync,
    compile,
    current: () => current,
    stop: () => sync.stop(),
  };
}

/** Logs diagnostics not reported by the previous compile; returns the keys now reported. */
function reportDiagnostics(
  log: Logger,
  proxyId: string,
  diagnostics: readonly Diagnostic[],
  previous: ReadonlySet<string>,
): Set<string> {
  const keys = new Set<string>();
  for (const d of diagnostics) {
    const key = `${d.severity} ${d.code} ${d.resource} ${d.path}: ${d.message}`;
    keys.add(key);
    if (previous.has(key)) continue;
    const line = `sidecar ${proxyId}: ${d.severity} ${d.code} ${d.resource} ${d.path}: ${d.message}`;
    if (d.severity === "error") log.warn(line);
    else log.info(line);
  }
  return keys;
}
