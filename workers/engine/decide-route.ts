import type { Cluster, Route, WeightedCluster } from "../../control/compile/snapshot.ts";
import { applyRedirect } from "./redirect.ts";
import type { MatchInput } from "./request-match.ts";
import type { ResponseFlag } from "./response-flags.ts";
import { firstCandidate } from "./route-index.ts";
import { authorityPort, type CompiledRoute, findVirtualHost, type RouteTable } from "./route-table.ts";

/** What the engine knows about a request. Header names are lower-case. */
export interface RequestFacts {
  authority: string;
  /** Path as received; may include the query string (matched by `queryParams`). */
  path: string;
  method: string;
  scheme: "http" | "https";
  headers: Readonly<Record<string, string | undefined>>;
  /** Destination port; default: the authority's port, else 80/443 by scheme. */
  port?: number;
  /** Labels of the calling workload (for `sourceLabels`). */
  sourceLabels?: Record<string, string>;
  /** Namespace of the calling workload (for `sourceNamespace`). */
  sourceNamespace?: string;
}

/**
 * What to do with a request. `forward` names the destination picked by weight (for its header
 * policy); `direct` carries a flag when the proxy failed rather than the rule answered; `redirect`
 * is a ready `Location`. The route's other policies (fault, CORS, rewrite, retries, mirrors) are
 * applied by the proxy with the helpers beside this file.
 */
export type RouteDecision =
  | { kind: "forward"; cluster: Cluster; route: Route; timeoutMs?: number; destination?: WeightedCluster }
  | { kind: "direct"; status: number; body?: string; route: Route; flag?: ResponseFlag }
  | { kind: "redirect"; status: number; location: string; route: Route }
  | { kind: "noRoute"; reason: string };

/** Body of the fail-closed answer for a route whose chosen cluster does not exist (Envoy's 503 text). */
export const NO_HEALTHY_UPSTREAM = "no healthy upstream";

/**
 * Decides a request: virtual host by authority, then the first route whose matches hold (OR
 * across match blocks, AND within; no blocks = match all; only the routes the path index leaves
 * as candidates are tested, in route order), then a destination by weight using
 * `random()` in [0, 1). A destination whose cluster is not in the snapshot (an unknown subset,
 * port or host: the compiler reported it) answers 503 "no healthy upstream" flagged `NC`: the
 * route fails closed, as Envoy does for a missing cluster.
 *
 * @example
 * ```ts
 * decideRoute(table, { authority: "reviews:9080", path: "/reviews/0", method: "GET", scheme: "http",
 *   headers: { "end-user": "jason" } }, Math.random);
 * // { kind: "forward", cluster: { name: "outbound|9080|v2|reviews.default.svc.cluster.local", ... }, ... }
 * ```
 */
export function decideRoute(table: RouteTable, req: RequestFacts, random: () => number): RouteDecision {
  const vh = findVirtualHost(table, req.authority);
  if (!vh) return { kind: "noRoute", reason: `no virtual host for authority "${req.authority}"` };
  const input = matchInput(req);
  const matched = vh.index
    ? firstCandidate(vh.index, input.path, input.headers, vh.routes, (r) => matches(r, input))
    : vh.routes.find((r) => matches(r, input));
  if (!matched)
    return { kind: "noRoute", reason: `no route of ${vh.name} matches ${req.method} ${input.path}` };
  const { route } = matched;
  const action = route.action;
  switch (action.kind) {
    case "directResponse":
      return {
        kind: "direct",
        status: action.status,
        ...(action.body === undefined ? {} : { body: action.body }),
        route,
        ...(action.flag ? { flag: action.flag } : {}),
      };
    case "redirect": {
      const { status, location } = applyRedirect(req, action.redirect);
      return { kind: "redirect", status, location, route };
    }
    case "route": {
      const destination = pickWeighted(action.destinations, random);
      const cluster = destination === undefined ? undefined : table.clusters[destination.cluster];
      if (!cluster) {
        const status = destination?.unresolvedStatus ?? 503;
        return { kind: "direct", status, body: NO_HEALTHY_UPSTREAM, route, flag: "NC" };
      }
      return action.timeoutMs === undefined
        ? { kind: "forward", cluster, route, destination }
        : { kind: "forward", cluster, route, destination, timeoutMs: action.timeoutMs };
    }
    default: {
      const _exhaustive: never = action;
      return { kind: "noRoute", reason: `unknown route action ${JSON.stringify(_exhaustive)}` };
    }
  }
}

function matches(route: CompiledRoute, input: MatchInput): boolean {
  return route.matches.length === 0 || route.matches.some((m) => m(input));
}

/** Picks one destination by weight with `random()` in [0, 1); none when every weight is 0. */
export function pickWeighted(
  destinations: readonly WeightedCluster[],
  random: () => number,
): WeightedCluster | undefined {
  let total = 0;
  for (const d of destinations) if (d.weight > 0) total += d.weight;
  if (total <= 0) return undefined;
  let point = random() * total;
  let last: WeightedCluster | undefined;
  for (const d of destinations) {
    if (d.weight <= 0) continue;
    last = d;
    if (point < d.weight) return d;
    point -= d.weight;
  }
  return last;
}

function matchInput(req: RequestFacts): MatchInput {
  const q = req.path.indexOf("?");
  const path = q < 0 ? req.path : req.path.slice(0, q);
  const search = q < 0 ? "" : req.path.slice(q + 1);
  let query: Map<string, string> | undefined;
  return {
    path,
    method: req.method,
    authority: req.authority,
    scheme: req.scheme,
    headers: req.headers,
    port: req.port ?? authorityPort(req.authority) ?? (req.scheme === "https" ? 443 : 80),
    query() {
      query ??= parseQuery(search);
      return query;
    },
    sourceLabels: req.sourceLabels,
    sourceNamespace: req.sourceNamespace,
  };
}

function parseQuery(search: string): Map<string, string> {
  const out = new Map<string, string>();
  for (const pair of search.split("&")) {
    if (pair === "") continue;
    const eq = pair.indexOf("=");
    const name = decode(eq < 0 ? pair : pair.slice(0, eq));
    if (!out.has(name)) out.set(name, decode(eq < 0 ? "" : pair.slice(eq + 1)));
  }
  return out;
}

function decode(text: string): string {
  try {
    return decodeURIComponent(text.replace(/\+/g, " "));
  } catch {
    return text;
  }
}
