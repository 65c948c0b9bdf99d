import { Agent } from "node:http";
import type { Socket } from "node:net";
import type { Duplex } from "node:stream";
import type { UpstreamAddress } from "./proxy-context.ts";
import type { UpstreamDial } from "./upstream-tls.ts";

/** Per-connection limits of a DestinationRule `connectionPool.http`. */
export interface ConnectionLimits {
  /** A connection is closed after this many requests (Istio `maxRequestsPerConnection`). */
  maxRequestsPerConnection?: number;
  /** An idle keep-alive connection is closed after this long (Istio `idleTimeout`). */
  idleTimeoutMs?: number;
}

/** A keep-alive agent that applies {@link ConnectionLimits} when a connection goes back to the pool. */
class LimitedAgent extends Agent {
  limits: ConnectionLimits = {};
  readonly uses = new WeakMap<Duplex, number>();

  override keepSocketAlive(socket: Duplex): boolean {
    const used = (this.uses.get(socket) ?? 0) + 1;
    this.uses.set(socket, used);
    const max = this.limits.maxRequestsPerConnection;
    if (max !== undefined && used >= max) return false;
    // Node's Agent returns whether it kept the socket; its typings say void.
    const kept = (super.keepSocketAlive as (s: Duplex) => unknown)(socket) !== false;
    const idle = this.limits.idleTimeoutMs;
    if (kept && idle !== undefined) (socket as Socket).setTimeout(idle);
    return kept;
  }
}

/** Connection pool settings for each upstream endpoint. */
export interface UpstreamPoolOptions {
  /** Concurrent connections per endpoint; further requests queue. Default 128. */
  maxSockets?: number;
  /** Idle keep-alive connections kept per endpoint. Default 32. */
  maxFreeSockets?: number;
  /**
   * How to open connections to endpoints with a `transport` (`mtls`: the sidecar's identity; `tls`:
   * DestinationRule TLS origination), see `createUpstreamTlsDialer`.
   */
  dialerFor?: (endpoint: UpstreamAddress) => UpstreamDial;
}

/** A borrowed keep-alive agent; `release()` exactly once when the request is done. */
export interface UpstreamLease {
  agent: Agent;
  release(): void;
}

/** Keep-alive connection pools, one per upstream endpoint (`address:port`). */
export interface UpstreamPool {
  /** `limits` (the routed cluster's; `{}` for none) apply to the endpoint's connections from then on. */
  lease(endpoint: UpstreamAddress, limits?: ConnectionLimits): UpstreamLease;
  /** Closes pools of endpoints not in `endpoints` once their in-flight requests are done. */
  retain(endpoints: Iterable<UpstreamAddress>): void;
  /** Number of endpoint pools currently open. */
  readonly size: number;
  /** Closes every pool and its connections. */
  destroy(): void;
}

interface PoolEntry {
  /** `address:port`, what `retain` compares (an endpoint may have a plaintext and an mTLS pool). */
  endpoint: string;
  agent: LimitedAgent;
  active: number;
  retired: boolean;
}

/**
 * One keep-alive `http.Agent` per endpoint, so connections to another sidecar are reused across
 * requests. Agents of endpoints that left the config are closed when no request uses them anymore;
 * a request that started on the old config keeps its connection until it completes.
 *
 * @example
 * ```ts
 * const pool = createUpstreamPool();
 * const { agent, release } = pool.lease({ address: "127.0.0.1", port: 15006 });
 * request({ agent, host: "127.0.0.1", port: 15006, path: "/" }).on("close", release).end();
 * ```
 */
export function createUpstreamPool(options: UpstreamPoolOptions = {}): UpstreamPool {
  const entries = new Map<string, PoolEntry>();
  const close = (key: string, entry: PoolEntry) => {
    entry.agent.destroy();
    entries.delete(key);
  };
  return {
    lease(endpoint, limits) {
      const key = endpointKey(endpoint);
      let entry = entries.get(key);
      if (!entry) {
        entry = {
          endpoint: `${endpoint.address}:${endpoint.port}`,
          agent: new LimitedAgent({
            keepAlive: true,
            maxSockets: options.maxSockets ?? 128,
            maxFreeSockets: options.maxFreeSockets ?? 32,
            // Idle sockets close a second before the server's announced Keep-Alive timeout (Node
            // applies the hint only when it is shorter than this), avoiding reuse of a closing socket.
            timeout: 60_000,
            scheduling: "lifo",
          }),
          active: 0,
          retired: false,
        };
        if (endpoint.transport) {
          const dial = options.dialerFor?.(endpoint);
          if (!dial) throw new Error(`no TLS dialer to reach ${key}`);
          // Each new connection dials TLS with the certificate in force then (rotation-safe).
          Object.assign(entry.agent, { createConnection: dial });
        }
        entries.set(key, entry);
      }
      const leased = entry;
      if (limits) leased.agent.limits = limits;
      leased.active++;
      let released = false;
      return {
        agent: leased.agent,
        release() {
          if (released) return;
          released = true;
          leased.active--;
          if (leased.retired && leased.active === 0 && entries.get(key) === leased) close(key, leased);
        },
      };
    },
    retain(endpoints) {
      const keep = new Set<string>();
      for (const endpoint of endpoints) keep.add(`${endpoint.address}:${endpoint.port}`);
      for (const [key, entry] of entries) {
        entry.retired = !keep.has(entry.endpoint);
        if (entry.retired && entry.active === 0) close(key, entry);
      }
    },
    get size() {
      return entries.size;
    },
    destroy() {
      for (const [key, entry] of entries) close(key, entry);
    },
  };
}

function endpointKey(endpoint: UpstreamAddress): string {
  const at = `${endpoint.address}:${endpoint.port}`;
  if (!endpoint.transport) return at;
  return `${endpoint.transport}|${endpoint.origination?.key ?? ""}|${at}`;
}
