import { Agent } from "node:http";
import type { UpstreamAddress } from "./proxy-context.ts";

/** Connection pool settings for each upstream endpoint. */
export interface UpstreamPoolOptions {
  /** Concurrent connections per endpoint; further requests queue. Default 128. */
  maxSockets?: number;
  /** Idle keep-alive connections kept per endpoint. Default 32. */
  maxFreeSockets?: number;
}

/** A borrowed keep-alive agent; `release()` exactly once when the request is done. */
export interface UpstreamLease {
  agent: Agent;
  release(): void;
}

/** Keep-alive connection pools, one per upstream endpoint (`address:port`). */
export interface UpstreamPool {
  lease(endpoint: UpstreamAddress): UpstreamLease;
  /** Closes pools of endpoints not in `endpoints` once their in-flight requests are done. */
  retain(endpoints: Iterable<UpstreamAddress>): void;
  /** Number of endpoint pools currently open. */
  readonly size: number;
  /** Closes every pool and its connections. */
  destroy(): void;
}

interface PoolEntry {
  agent: Agent;
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
    lease(endpoint) {
      const key = endpointKey(endpoint);
      let entry = entries.get(key);
      if (!entry) {
        entry = {
          agent: new Agent({
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
        entries.set(key, entry);
      }
      const leased = entry;
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
      for (const endpoint of endpoints) keep.add(endpointKey(endpoint));
      for (const [key, entry] of entries) {
        entry.retired = !keep.has(key);
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
  return `${endpoint.address}:${endpoint.port}`;
}
