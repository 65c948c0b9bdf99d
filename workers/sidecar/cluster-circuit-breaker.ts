import type { Cluster, ConnectionPoolPolicy } from "../../control/compile/snapshot.ts";
import { admitRequest, canDispatchPending } from "../engine/index.ts";
import { respondLocally } from "./local-response.ts";
import type { Handler, Layer, ProxyAbort, ProxyContext } from "./proxy-context.ts";

interface ClusterGate {
  active: number;
  /** Requests waiting for a connection, oldest first; called once dispatched (active already counted). */
  pending: Array<() => void>;
  overflows: number;
}

/** Per-cluster circuit-breaker counters, for stats. */
export interface CircuitBreakerStats {
  clusters(): Record<string, { active: number; pending: number; overflows: number }>;
}

/**
 * Enforces the routed cluster's DestinationRule `connectionPool` limits, as Envoy's circuit
 * breakers do (decisions from the engine's `admitRequest`): requests beyond `http2MaxRequests`,
 * or beyond `http1MaxPendingRequests` waiting while all `maxConnections` are busy, are answered
 * 503 with flag `UO`. A waiting request is sent when a request of the cluster ends, or gives up
 * with the route timeout / the client. Clusters without `connectionPool` pass straight through.
 *
 * @example
 * ```ts
 * const breaker = enforceConnectionPool();
 * compose([routeRequest(deps), applyRouteTimeout(), breaker.layer], forwardWithRetries(deps));
 * ```
 */
export function enforceConnectionPool(): { layer: Layer } & CircuitBreakerStats {
  const gates = new Map<string, ClusterGate>();
  const admit = async (ctx: ProxyContext, next: Handler, cluster: Cluster, policy: ConnectionPoolPolicy) => {
    let gate = gates.get(cluster.name);
    if (!gate) {
      gate = { active: 0, pending: [], overflows: 0 };
      gates.set(cluster.name, gate);
    }
    const g = gate;
    const admission = admitRequest(policy, { active: g.active, pending: g.pending.length });
    if (admission === "overflow") {
      g.overflows++;
      respondLocally(
        ctx,
        503,
        "UO",
        "upstream connect error or disconnect/reset before headers. reset reason: overflow",
      );
      return;
    }
    if (admission === "queue") {
      const dispatched = await new Promise<boolean>((resolve) => {
        const entry = () => {
          ctx.abort.signal.removeEventListener("abort", onAbort);
          resolve(true);
        };
        const onAbort = () => {
          const i = g.pending.indexOf(entry);
          if (i >= 0) g.pending.splice(i, 1);
          resolve(false);
        };
        g.pending.push(entry);
        ctx.abort.signal.addEventListener("abort", onAbort, { once: true });
      });
      if (!dispatched) {
        // The route timeout fired while waiting for a connection (504 UT), or the client left.
        const reason = ctx.abort.signal.reason as ProxyAbort | undefined;
        if (reason?.flag === "UT") respondLocally(ctx, 504, "UT", reason.message);
        else if (reason) ctx.flag ??= reason.flag;
        return;
      }
    } else {
      g.active++;
    }
    let released = false;
    const release = () => {
      if (released) return;
      released = true;
      g.active--;
      while (
        g.pending.length > 0 &&
        canDispatchPending(cluster.connectionPool, { active: g.active, pending: g.pending.length })
      ) {
        g.active++;
        g.pending.shift()?.();
      }
    };
    ctx.res.once("close", release);
    try {
      await next(ctx);
    } catch (error) {
      release();
      throw error;
    }
  };
  // Clusters without connectionPool limits pass straight on, without an async step per request.
  const layer: Layer = (next) => (ctx) => {
    const cluster = ctx.cluster;
    const policy = cluster?.connectionPool;
    return cluster && policy ? admit(ctx, next, cluster, policy) : next(ctx);
  };
  return {
    layer,
    clusters() {
      const out: Record<string, { active: number; pending: number; overflows: number }> = {};
      for (const [name, g] of gates)
        out[name] = { active: g.active, pending: g.pending.length, overflows: g.overflows };
      return out;
    },
  };
}
