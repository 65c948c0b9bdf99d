import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { hasCommand } from "./child-process.ts";
import { measurePeers, type PeerLoad, type PeersOutcome, renderOutcome } from "./data-plane.ts";
import { H2_STREAMS, h2Clients, runH2load } from "./h2-load.ts";
import { type BenchMesh, startJibePair } from "./jibe-pair.ts";
import { startHaproxyPair } from "./proxy-peers.ts";

/**
 * The data-plane benchmark over HTTP/2: h2load (h2c, prior knowledge) → proxy A → proxy B → an h2c
 * upstream (node:http2, its own process), every hop HTTP/2, vs HAProxy as the same pair
 * (`proto h2`) and a direct connection, same run, same load settings as the HTTP/1.1 rows.
 * nginx is left out: it proxies HTTP/2 upstream only for gRPC (`grpc_pass`).
 */

/** HTTP/2: the h2c upstream, h2load at a fixed rate (`--rps` per connection) and at saturation. */
export const H2_LOAD: PeerLoad = {
  upstreamScript: fileURLToPath(new URL("./h2-upstream-process.ts", import.meta.url)),
  fixed: (url, settings) => runH2load(url, settings, { rate: settings.rate }),
  saturation: (url, settings) => runH2load(url, settings),
};

/** What the HTTP/2 peers need that is missing, as Debian packages: h2load is in `nghttp2-client`. */
export async function missingH2Packages(): Promise<string[]> {
  const missing: string[] = [];
  if (!(await hasCommand("h2load"))) missing.push("nghttp2-client");
  if (!(await hasCommand("haproxy"))) missing.push("haproxy");
  return missing;
}

/**
 * Runs the HTTP/2 data-plane benchmark: direct, the Jibe pair with the Service port named
 * `http2`, the HAProxy pair in h2c; skipped with a message when h2load or HAProxy is missing.
 *
 * @example
 * ```ts
 * const section = renderDataPlane(await measureDataPlane(mesh), renderDataPlaneH2(await measureDataPlaneH2(mesh)));
 * ```
 */
export async function measureDataPlaneH2(mesh: BenchMesh): Promise<PeersOutcome> {
  const missing = await missingH2Packages();
  if (missing.length > 0)
    return {
      skipped: `skipped: h2load or HAProxy not installed; install the Debian packages with \`apt-get install ${missing.join(" ")}\` and rerun`,
    };
  return measurePeers(
    [
      { name: "direct", start: async () => undefined },
      {
        name: "Jibe",
        start: (ctx) =>
          startJibePair(mesh, ctx.upstreamPort, {
            name: "Jibe",
            namespace: "bench-h2",
            protocol: "http2",
            bodyBytes: ctx.settings.bodyBytes,
          }),
      },
      {
        name: "HAProxy",
        start: (ctx) => startHaproxyPair(join(ctx.dir, "haproxy-h2"), ctx.upstreamPort, undefined, "h2c"),
      },
    ],
    H2_LOAD,
  );
}

/** The `###` subsection of the data-plane section (RESULTS.md merges by `## ` section). */
export function renderDataPlaneH2(outcome: PeersOutcome): string {
  const settings = "settings" in outcome ? outcome.settings : undefined;
  const clients = settings ? h2Clients(settings.connections) : undefined;
  const streams = `${H2_STREAMS} streams per connection`;
  return [
    "### HTTP/2 (h2c)",
    "",
    "The same pair with every hop HTTP/2 with prior knowledge: h2load (nghttp2) → proxy A → proxy B",
    "→ an h2c upstream (node:http2, its own process). Jibe: the Service port is named `http2`, so the",
    "client sidecar multiplexes on one h2c session to the server sidecar, which speaks h2c to the app.",
    "HAProxy: `proto h2` on every bind and server. nginx is not in this table: it proxies HTTP/2",
    "upstream only for gRPC. The load keeps as many requests in flight as the HTTP/1.1 rows, on",
    `fewer connections (${streams}); latency percentiles come from h2load's per-request log.`,
    "",
    ...renderOutcome(outcome, "Jibe", {
      fixedNote: [
        "Fixed rate (h2load `--rps`, each connection held to its share; latency from each request's",
        'actual send, so queueing before it is not counted; "overloaded": the peer could not keep up):',
      ],
      saturationNote: `Saturation (h2load, one thread, ${streams}; compare throughput):`,
      ...(clients === undefined ? {} : { concurrency: `${clients} h2c connections × ${H2_STREAMS} streams` }),
    }),
  ].join("\n");
}
