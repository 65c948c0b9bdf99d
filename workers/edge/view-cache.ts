import type { Snapshot } from "../../control/compile/snapshot.ts";
import {
  buildRouteTable,
  createLoadBalancerState,
  type LoadBalancerState,
  type RouteTable,
} from "../engine/index.ts";

/** What the policy holder answers to `snapshotIfNewer`: the snapshot only when the caller lacks it. */
export interface SnapshotReply {
  /** Version of the holder's snapshot; `""` when it has none yet. */
  version: string;
  /** Present when `version` differs from the one the caller already holds. */
  snapshot?: Snapshot;
}

/** A snapshot with its route table built once, ready to route requests. */
export interface RoutingView {
  snapshot: Snapshot;
  table: RouteTable;
  loadBalancer: LoadBalancerState;
}

/** Per-isolate cache of routing views keyed by snapshot version. Holds plain data only, no I/O objects. */
export interface ViewCache {
  /** The newest version this isolate holds, to send as `snapshotIfNewer(version)`. */
  knownVersion(): string | undefined;
  /** Turns a holder reply into a view, building the route table when the version is new. */
  resolve(reply: SnapshotReply): RoutingView | undefined;
}

/**
 * Creates a view cache. Round-robin state is shared across versions so a policy change does not
 * restart every cluster's rotation at its first endpoint.
 *
 * @example
 * ```ts
 * const views = createViewCache();
 * const view = views.resolve(await holder.snapshotIfNewer(views.knownVersion()));
 * ```
 */
export function createViewCache(capacity = 2): ViewCache {
  const views = new Map<string, RoutingView>();
  const loadBalancer = createLoadBalancerState();
  let latest: string | undefined;
  return {
    knownVersion: () => latest,
    resolve(reply) {
      if (reply.version === "") return undefined;
      const cached = views.get(reply.version);
      if (cached) {
        // Re-insert so eviction (oldest insertion first) never drops the version in use.
        views.delete(reply.version);
        views.set(reply.version, cached);
        latest = reply.version;
        return cached;
      }
      if (!reply.snapshot || reply.snapshot.version !== reply.version) return undefined;
      const view = { snapshot: reply.snapshot, table: buildRouteTable(reply.snapshot), loadBalancer };
      views.set(reply.version, view);
      latest = reply.version;
      // Keep a couple so requests still routing on the previous version are not starved of it.
      for (const version of views.keys()) {
        if (views.size <= capacity) break;
        views.delete(version);
      }
      return view;
    },
  };
}
