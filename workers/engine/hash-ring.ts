import type { Endpoint } from "../../control/compile/snapshot.ts";

/**
 * A consistent-hash ring (Ketama-style, like Envoy's RING_HASH): a key goes to the owner of the
 * first point at or after its hash. Every endpoint owns the same number of points whatever the
 * cluster size ({@link pointsPerEndpoint}), so when an endpoint leaves only the keys on its points
 * move (Envoy spreads `minimumRingSize` over the endpoints, which also moves some other keys).
 */
export interface HashRing {
  /** Point hashes, ascending. */
  readonly hashes: Uint32Array;
  /** Endpoint index (into the endpoints the ring was built from) of each point. */
  readonly owners: Uint32Array;
}

/**
 * 32-bit FNV-1a over UTF-16 code units with murmur3's finaliser (good avalanche, no I/O).
 *
 * @example
 * ```ts
 * hash32("user-42"); // same number in Node and workerd
 * ```
 */
export function hash32(text: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < text.length; i++) {
    h ^= text.charCodeAt(i);
    h = Math.imul(h, 0x01000193);
  }
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  h ^= h >>> 16;
  return h >>> 0;
}

/**
 * Builds the ring for endpoints. Points depend only on each endpoint's address, port and weight
 * (relative to the lightest), so the same endpoints give the same ring in any order and in any
 * runtime.
 *
 * @example
 * ```ts
 * const ring = buildHashRing(cluster.endpoints, 1024);
 * const index = ringOwner(ring, hash32("user-42"), () => true);
 * ```
 */
export function buildHashRing(endpoints: readonly Endpoint[], minimumRingSize: number): HashRing {
  const perEndpoint = pointsPerEndpoint(minimumRingSize);
  const lightest = Math.min(...endpoints.map((e) => e.weight ?? 1));
  const points: [number, number][] = [];
  endpoints.forEach((e, index) => {
    // Weighted endpoints own proportionally more points (as Envoy's ring hash), capped so one
    // heavy endpoint cannot blow the ring up.
    const share = Math.min(MAX_WEIGHT_RATIO, (e.weight ?? 1) / lightest);
    const count = Math.max(1, Math.round(perEndpoint * share));
    for (let i = 0; i < count; i++) points.push([hash32(`${e.address}:${e.port}_${i}`), index]);
  });
  // Ties broken by endpoint identity so the ring does not depend on endpoint order.
  const id = (index: number) => `${endpoints[index]?.address}:${endpoints[index]?.port}`;
  points.sort((a, b) => a[0] - b[0] || (id(a[1]) < id(b[1]) ? -1 : id(a[1]) > id(b[1]) ? 1 : 0));
  return {
    hashes: Uint32Array.from(points, (p) => p[0]),
    owners: Uint32Array.from(points, (p) => p[1]),
  };
}

/** Largest ratio of points between two endpoints of a ring (endpoint `weight`s beyond it are flattened). */
const MAX_WEIGHT_RATIO = 64;

/**
 * Points each endpoint owns: a quarter of `minimumRingSize` (256 for the default 1024), at least
 * 64, so a ring of 4 or more endpoints has at least `minimumRingSize` points.
 */
export function pointsPerEndpoint(minimumRingSize: number): number {
  return Math.max(64, Math.ceil(minimumRingSize / 4));
}

/**
 * The endpoint index owning `hash`, walking clockwise past points whose owner `usable` rejects
 * (ejected or already tried endpoints); undefined when no owner is usable.
 */
export function ringOwner(
  ring: HashRing,
  hash: number,
  usable: (index: number) => boolean,
): number | undefined {
  const n = ring.hashes.length;
  if (n === 0) return undefined;
  let lo = 0;
  let hi = n;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if ((ring.hashes[mid] ?? 0) < hash) lo = mid + 1;
    else hi = mid;
  }
  const rejected = new Set<number>();
  for (let step = 0; step < n; step++) {
    const owner = ring.owners[(lo + step) % n] ?? 0;
    if (rejected.has(owner)) continue;
    if (usable(owner)) return owner;
    rejected.add(owner);
  }
  return undefined;
}
