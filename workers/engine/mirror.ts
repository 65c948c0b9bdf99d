import type { MirrorPolicy } from "../../control/compile/snapshot.ts";
import { stripPort } from "./route-table.ts";

/**
 * The clusters a request is mirrored to: each mirror fires for its percentage of requests
 * (one draw of `random()` each). Mirrored copies are fire-and-forget; their answers are dropped.
 *
 * @example
 * ```ts
 * pickMirrors([{ cluster: "outbound|9080|v2|reviews.default.svc.cluster.local", percentage: 100 }], Math.random);
 * // ["outbound|9080|v2|reviews.default.svc.cluster.local"]
 * ```
 */
export function pickMirrors(mirrors: readonly MirrorPolicy[] | undefined, random: () => number): string[] {
  const out: string[] = [];
  for (const m of mirrors ?? []) {
    if (m.percentage >= 100 || (m.percentage > 0 && random() * 100 < m.percentage)) out.push(m.cluster);
  }
  return out;
}

/**
 * The authority a mirrored copy carries: Envoy appends `-shadow` to the host (before any port),
 * so the mirror's logs tell copies from real traffic.
 *
 * @example
 * ```ts
 * shadowAuthority("reviews:9080"); // "reviews-shadow:9080"
 * ```
 */
export function shadowAuthority(authority: string): string {
  const host = stripPort(authority);
  return `${host}-shadow${authority.slice(host.length)}`;
}
