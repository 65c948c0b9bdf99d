import type { StoredResource } from "../../broker/events.ts";
import { compile } from "../../control/compile/compile.ts";
import type { ProxyIdentity } from "../../control/compile/snapshot.ts";
import {
  bookinfoMesh,
  destinationRule,
  sidecar,
  virtualService,
} from "../../control/compile/test-resources.ts";
import { decideRoute, type RequestFacts, type RouteDecision } from "./decide-route.ts";
import { buildRouteTable, type RouteTable } from "./route-table.ts";

/** Helpers shared by the engine behaviour cases (`*.case.ts`); pure, so they run in workerd too. */

/** Deterministic PRNG (mulberry32) so weighted splits are reproducible. */
export function seededRandom(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

export const REVIEWS = "reviews.default.svc.cluster.local";
export const subsetRoute = (subset: string, weight?: number) => ({
  destination: { host: "reviews", subset },
  ...(weight === undefined ? {} : { weight }),
});

export function tableFor(resources: StoredResource[], proxy: ProxyIdentity = sidecar()): RouteTable {
  return buildRouteTable(compile(resources, proxy).snapshot);
}

export function request(authority: string, path = "/", extra: Partial<RequestFacts> = {}): RequestFacts {
  return { authority, path, method: "GET", scheme: "http", headers: {}, ...extra };
}

/** The subset (or "" for all endpoints) a forward decision goes to; the status for a direct one (and Location for a redirect). */
export function target(decision: RouteDecision): string {
  switch (decision.kind) {
    case "forward":
      return decision.cluster.subset ?? "";
    case "direct":
      return `direct ${decision.status}`;
    case "redirect":
      return `redirect ${decision.status} ${decision.location}`;
    case "noRoute":
      return "noRoute";
    default: {
      const _exhaustive: never = decision;
      return _exhaustive;
    }
  }
}

export function split(table: RouteTable, facts: RequestFacts, n: number, seed = 7): Map<string, number> {
  const random = seededRandom(seed);
  const counts = new Map<string, number>();
  for (let i = 0; i < n; i++) {
    const t = target(decideRoute(table, facts, random));
    counts.set(t, (counts.get(t) ?? 0) + 1);
  }
  return counts;
}

export const reviewsMesh = (vs: unknown) => [
  ...bookinfoMesh(),
  destinationRule("reviews", ["v1", "v2", "v3"]),
  virtualService("reviews", vs),
];
