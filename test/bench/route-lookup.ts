import { execFile } from "node:child_process";
import { fileURLToPath } from "node:url";
import { promisify } from "node:util";
import type { StoredResource } from "../../broker/events.ts";
import { compile } from "../../control/compile/compile.ts";
import { service, sidecar, virtualService } from "../../control/compile/test-resources.ts";
import { decideRoute, type RequestFacts } from "../../workers/engine/decide-route.ts";
import {
  buildRouteTable,
  type CompiledVirtualHost,
  type RouteTable,
} from "../../workers/engine/route-table.ts";
import { ratio } from "./stats.ts";

/**
 * Route lookup: `decideRoute` (virtual host, first matching route, destination) on a route table
 * built from a compiled snapshot, at 10, 1,000 and 10,000 routes. Routes mix exact, prefix, regex
 * and prefix + header matches, each host ending with a catch-all. Shapes: `many hosts` (10 routes
 * per VirtualService, N/10 services: a mesh), `one host` (one VirtualService with N routes), and
 * `header-only` (one host, N routes matching only on a header: nothing for the path index to
 * narrow, the worst case). Each shape is also run with the path index turned off (every route
 * tested in order) in the same run. Requests are spread evenly over every route of the table.
 */

export interface RouteLookupRow {
  shape: string;
  routes: number;
  /**
   * `index`: Jibe's lookup; `no index`: every route tested in order (same table); `hash floor`: the
   * cheapest table there is for this traffic, one hash map from (authority, path) to the route's
   * cluster with no matching semantics at all, so its growth from 10 to 10,000 routes is what the
   * memory hierarchy alone costs this traffic.
   */
  lookup: "index" | "no index" | "hash floor";
  /** `spread`: requests to every route in turn; `hot 10`: the same 10 requests over and over. */
  traffic: "spread" | "hot 10";
  nsPerOp: number;
}

const ROUTES_PER_HOST = 10;
const ROUNDS = 5;
const ROUND_BUDGET_NS = 500e6;

/** The `k`-th rule of a host: exact, prefix, regex, prefix + header, in turn. */
function rule(k: number, host: string): { rule: object; request: RequestFacts } {
  const authority = `${host}:9080`;
  const base = { method: "GET", scheme: "http" as const, authority };
  const route = [{ destination: { host } }];
  switch (k % 4) {
    case 0:
      return {
        rule: { match: [{ uri: { exact: `/svc/${k}/exact` } }], route },
        request: { ...base, path: `/svc/${k}/exact`, headers: {} },
      };
    case 1:
      return {
        rule: { match: [{ uri: { prefix: `/api/v${k}/` } }], route },
        request: { ...base, path: `/api/v${k}/items?page=2`, headers: {} },
      };
    case 2:
      return {
        rule: { match: [{ uri: { regex: `/t${k}/items/[0-9]+` } }], route },
        request: { ...base, path: `/t${k}/items/42`, headers: {} },
      };
    default:
      return {
        rule: {
          match: [{ uri: { prefix: `/reviews/${k}` }, headers: { "end-user": { exact: `u${k}` } } }],
          route,
        },
        request: { ...base, path: `/reviews/${k}`, headers: { "end-user": `u${k}` } },
      };
  }
}

function headerOnly(k: number, host: string): { rule: object; request: RequestFacts } {
  return {
    rule: { match: [{ headers: { "x-tenant": { exact: `t${k}` } } }], route: [{ destination: { host } }] },
    request: {
      method: "GET",
      scheme: "http",
      authority: `${host}:9080`,
      path: "/any",
      headers: { "x-tenant": `t${k}` },
    },
  };
}

export const SHAPES = ["many hosts", "one host", "header-only"] as const;
export type Shape = (typeof SHAPES)[number];

/** The resources, and one request per route: `inOrder` in route order, `requests` shuffled. */
function mesh(
  shape: Shape,
  routes: number,
): { resources: StoredResource[]; requests: RequestFacts[]; inOrder: RequestFacts[] } {
  const hosts = shape === "many hosts" ? Math.max(1, routes / ROUTES_PER_HOST) : 1;
  const perHost = routes / hosts;
  const resources: StoredResource[] = [];
  const requests: RequestFacts[] = [];
  for (let h = 0; h < hosts; h++) {
    const host = `svc-${h}`;
    const http: object[] = [];
    for (let k = 0; k < perHost - 1; k++) {
      const made = shape === "header-only" ? headerOnly(k, host) : rule(k, host);
      http.push(made.rule);
      requests.push(made.request);
    }
    http.push({ route: [{ destination: { host } }] }); // catch-all
    requests.push({
      method: "GET",
      scheme: "http",
      authority: `${host}:9080`,
      path: "/unmatched",
      headers: {},
    });
    resources.push(
      service(host, { namespace: "bench" }),
      virtualService(host, { hosts: [host], http }, { namespace: "bench" }),
    );
  }
  return { resources, inOrder: [...requests], requests: shuffle(requests) };
}

/** The same table with every route a candidate for every path: the lookup before the index. */
function withoutIndex(table: RouteTable): RouteTable {
  const strip = (vh: CompiledVirtualHost): CompiledVirtualHost => ({ name: vh.name, routes: vh.routes });
  const remap = new Map([...table.exact.values(), ...table.wildcards.values()].map((vh) => [vh, strip(vh)]));
  return {
    ...table,
    exact: new Map([...table.exact].map(([k, vh]) => [k, remap.get(vh) ?? strip(vh)])),
    wildcards: new Map([...table.wildcards].map(([k, vh]) => [k, remap.get(vh) ?? strip(vh)])),
    catchAll: table.catchAll && strip(table.catchAll),
  };
}

function shuffle<T>(items: T[]): T[] {
  let seed = 12345;
  for (let i = items.length - 1; i > 0; i--) {
    seed = (seed * 1103515245 + 12345) % 2 ** 31;
    const j = seed % (i + 1);
    [items[i], items[j]] = [items[j] as T, items[i] as T];
  }
  return items;
}

/** A lookup under test: true when the request was routed to a cluster. */
type Lookup = (request: RequestFacts) => boolean;

function jibeLookup(table: RouteTable): Lookup {
  const random = () => 0.5;
  return (request) => decideRoute(table, request, random).kind === "forward";
}

/**
 * The hash-map floor: (authority, path) → the cluster Jibe picked for that request, one map per
 * authority. No route semantics; it touches one entry per request, as any table must.
 */
function hashFloor(table: RouteTable, requests: readonly RequestFacts[], shape: Shape): Lookup {
  // What tells this shape's routes apart: the path, or for header-only routes the header.
  const keyOf = (request: RequestFacts, path: string) =>
    shape === "header-only" ? (request.headers["x-tenant"] ?? path) : path;
  const byAuthority = new Map<string, Map<string, { name: string }>>();
  for (const request of requests) {
    const decision = decideRoute(table, request, () => 0.5);
    if (decision.kind !== "forward") throw new Error("route-lookup bench: a request was not forwarded");
    const paths = byAuthority.get(request.authority) ?? new Map<string, { name: string }>();
    byAuthority.set(request.authority, paths);
    paths.set(keyOf(request, request.path.split("?")[0] as string), { name: decision.cluster.name });
  }
  return (request) => {
    const q = request.path.indexOf("?");
    const path = q < 0 ? request.path : request.path.slice(0, q);
    return byAuthority.get(request.authority)?.get(keyOf(request, path))?.name !== undefined;
  };
}

/**
 * Best of `ROUNDS` rounds of `ops / ROUNDS` lookups, in CPU time of this process: on a shared
 * machine wall time mostly measures waiting for a core.
 */
function nsPerOp(lookup: Lookup, requests: RequestFacts[], ops: number): number {
  // Warm-up: every request several times, so each route's regex is compiled and tiered up.
  for (let i = 0; i < Math.max(20_000, 3 * requests.length); i++)
    lookup(requests[i % requests.length] as RequestFacts);
  const perRound = Math.ceil(ops / ROUNDS);
  let best = Number.POSITIVE_INFINITY;
  for (let round = 0; round < ROUNDS; round++) {
    let forwarded = 0;
    const start = process.cpuUsage();
    let done = 0;
    let elapsedNs = 0;
    // A round ends after perRound decisions or ROUND_BUDGET_NS of CPU, whichever comes first.
    while (done < perRound && elapsedNs < ROUND_BUDGET_NS) {
      for (let i = 0; i < 256; i++, done++)
        if (lookup(requests[done % requests.length] as RequestFacts)) forwarded++;
      const used = process.cpuUsage(start);
      elapsedNs = (used.user + used.system) * 1000;
    }
    best = Math.min(best, elapsedNs / done);
    if (forwarded !== done)
      throw new Error(`route-lookup bench: ${done - forwarded} requests were not forwarded`);
  }
  return best;
}

/**
 * Measures every shape at every size, each (shape, size) in fresh processes: JIT state left by one
 * table (megamorphic call sites, tiering) must not tax the next, and a proxy holds one table size
 * anyway. Each is run `repeats` times (default 3) and the fastest figure of every row kept, as the
 * machine is shared. `ops` decisions per row (default 200,000).
 *
 * @example
 * ```ts
 * console.log(renderRouteLookup(await measureRouteLookup({ sizes: [10, 10_000], ops: 100_000 })));
 * ```
 */
export async function measureRouteLookup(
  options: { sizes?: number[]; ops?: number; shapes?: readonly Shape[]; repeats?: number } = {},
): Promise<RouteLookupRow[]> {
  const rows: RouteLookupRow[] = [];
  for (const shape of options.shapes ?? SHAPES) {
    for (const routes of options.sizes ?? [10, 1_000, 10_000]) {
      const runs: RouteLookupRow[][] = [];
      for (let r = 0; r < (options.repeats ?? 3); r++) {
        const args = [rowProcess, shape, String(routes), String(options.ops ?? 200_000)];
        const { stdout } = await execFileAsync(process.execPath, args, { maxBuffer: 1 << 20 });
        runs.push(JSON.parse(stdout) as RouteLookupRow[]);
      }
      for (const row of runs[0] ?? [])
        rows.push({
          ...row,
          nsPerOp: Math.min(
            ...runs.map(
              (run) =>
                run.find((r) => r.lookup === row.lookup && r.traffic === row.traffic)?.nsPerOp ?? row.nsPerOp,
            ),
          ),
        });
    }
  }
  return rows;
}

const rowProcess = fileURLToPath(new URL("./route-lookup-process.ts", import.meta.url));
const execFileAsync = promisify(execFile);

/**
 * Measures the given shapes and sizes in this process (what each child of `measureRouteLookup` runs).
 *
 * @example
 * ```ts
 * measureRouteLookupHere({ shapes: ["one host"], sizes: [10_000], ops: 100_000 });
 * ```
 */
export function measureRouteLookupHere(
  options: { sizes?: number[]; ops?: number; shapes?: readonly Shape[] } = {},
): RouteLookupRow[] {
  const sizes = options.sizes ?? [10, 1_000, 10_000];
  const ops = options.ops ?? 200_000;
  const rows: RouteLookupRow[] = [];
  for (const shape of options.shapes ?? SHAPES) {
    for (const routes of sizes) {
      const { resources, requests, inOrder } = mesh(shape, routes);
      const { snapshot, diagnostics } = compile(resources, sidecar("bench", "bench"));
      if (diagnostics.length > 0) throw new Error(`route-lookup bench: ${diagnostics[0]?.message}`);
      const table = buildRouteTable(snapshot);
      const hot = requests.slice(0, 10);
      const row = (lookup: RouteLookupRow["lookup"], traffic: RouteLookupRow["traffic"], fn: Lookup) =>
        rows.push({
          shape,
          routes,
          lookup,
          traffic,
          nsPerOp: nsPerOp(fn, traffic === "spread" ? requests : hot, ops),
        });
      // Entries made in route order, as the route table's are: shuffled traffic reaches both at random.
      const floor = hashFloor(table, inOrder, shape);
      row("index", "spread", jibeLookup(table));
      row("hash floor", "spread", floor);
      row("index", "hot 10", jibeLookup(table));
      row("hash floor", "hot 10", floor);
      row("no index", "spread", jibeLookup(withoutIndex(table)));
    }
  }
  return rows;
}

/** The markdown section for test/bench/RESULTS.md. */
export function renderRouteLookup(rows: readonly RouteLookupRow[]): string {
  const base = (row: RouteLookupRow) =>
    rows.find(
      (r) =>
        r.shape === row.shape &&
        r.lookup === row.lookup &&
        r.traffic === row.traffic &&
        r.routes === rows[0]?.routes,
    );
  return [
    "## Route lookup",
    "",
    "`decideRoute` on a route table built from a compiled snapshot (virtual host by authority, first",
    "matching route, destination), one thread; ns/op is CPU time of the process (not wall time, so",
    "other work on the machine does not count), best of 5 rounds (a round stops after 0.5 s of CPU),",
    "then the best of 3 fresh processes per shape and size, so JIT state left by one table does not",
    "tax the next.",
    "Routes mix exact, prefix, regex and prefix + header matches; each host ends with a catch-all.",
    "`many hosts`: 10 routes per VirtualService (a mesh); `one host`: one VirtualService holding every",
    "route; `header-only`: one host whose routes match on an exact header value only.",
    "",
    "Lookups: `index` is Jibe's (exact paths and prefixes in a trie, regexes by their literal start,",
    "exact header values by header; candidates tested in route order, a candidate whose key is its",
    "only condition taken without running matchers). `no index` tests every route in order (the",
    "lookup before the index), same table, same run. `hash floor` is the peer: one hash map from",
    "(authority, path or header) to the cluster, no route semantics, the cheapest table possible.",
    "",
    "Traffic: `hot 10` repeats 10 requests, which measures the lookup's own cost; `spread` cycles",
    "through one request per route, a working set far larger than the CPU caches at 10,000 routes,",
    "so every lookup misses the caches on the route it touches. The hash floor shows what that alone",
    "costs any table. Goal: 10,000 routes ≤ 2× the 10-route case.",
    "",
    ...goalLines(rows),
    "",
    "| shape | routes | lookup | traffic | ns/op | ratio to 10 routes |",
    "|---|---:|---|---|---:|---:|",
    ...rows.map((r) => {
      const first = base(r);
      return `| ${r.shape} | ${r.routes} | ${r.lookup} | ${r.traffic} | ${r.nsPerOp.toFixed(0)} | ${first ? ratio(r.nsPerOp, first.nsPerOp) : "n/a"} |`;
    }),
    "",
  ].join("\n");
}

/** One line per shape: the lookup's own cost (hot) and spread growth next to the floor's. */
function goalLines(rows: readonly RouteLookupRow[]): string[] {
  const sizes = rows.map((r) => r.routes);
  const [small, large] = [Math.min(...sizes), Math.max(...sizes)];
  const find = (
    shape: string,
    lookup: RouteLookupRow["lookup"],
    traffic: RouteLookupRow["traffic"],
    routes: number,
  ) =>
    rows.find(
      (r) => r.shape === shape && r.lookup === lookup && r.traffic === traffic && r.routes === routes,
    );
  const growth = (shape: string, lookup: RouteLookupRow["lookup"], traffic: RouteLookupRow["traffic"]) => {
    const a = find(shape, lookup, traffic, small);
    const b = find(shape, lookup, traffic, large);
    return a && b ? b.nsPerOp / a.nsPerOp : Number.NaN;
  };
  return [...new Set(rows.map((r) => r.shape))].map((shape) => {
    const hot = growth(shape, "index", "hot 10");
    const spread = growth(shape, "index", "spread");
    const floor = growth(shape, "hash floor", "spread");
    return `- ${shape}, ${small} → ${large} routes: lookup cost (hot) ${hot.toFixed(2)}× (goal ≤ 2×: ${hot <= 2 ? "met" : "missed"}); spread traffic ${spread.toFixed(2)}× where the hash floor grows ${floor.toFixed(2)}×.`;
  });
}
