import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { measurePeers, type PeerStarter, type PeersOutcome, renderOutcome } from "./data-plane.ts";
import { type BenchMesh, startJibePair } from "./jibe-pair.ts";

/**
 * Telemetry overhead on the Jibe data plane: the same pair with telemetry off (a Telemetry
 * resource disabling every metric and span), with metrics + tracing at 1% and at 100% sampling
 * (spans exported over OTLP/HTTP to a local collector that accepts and drops them), same run.
 */
export async function measureTelemetryOverhead(mesh: BenchMesh): Promise<PeersOutcome & { spans?: number }> {
  const collector = await startSpanSink();
  try {
    const variant =
      (name: string, namespace: string, telemetry: "off" | number): PeerStarter =>
      (ctx) =>
        startJibePair(mesh, ctx.upstreamPort, {
          name,
          namespace,
          bodyBytes: ctx.settings.bodyBytes,
          telemetry:
            telemetry === "off" ? "off" : { samplingPercent: telemetry, otlpEndpoint: collector.url },
        });
    // One namespace per variant: the Telemetry resource of `off` must not reach the others.
    const outcome = await measurePeers([
      { name: "direct", start: async () => undefined },
      { name: "telemetry off", start: variant("telemetry off", "bench-tel-off", "off") },
      { name: "metrics + 1% traces", start: variant("metrics + 1% traces", "bench-tel-1", 1) },
      { name: "metrics + 100% traces", start: variant("metrics + 100% traces", "bench-tel-100", 100) },
    ]);
    return { ...outcome, spans: collector.requests() };
  } finally {
    await collector.stop();
  }
}

/** The markdown section. */
export function renderTelemetryOverhead(outcome: PeersOutcome & { spans?: number }): string {
  return [
    "## Telemetry overhead",
    "",
    "The Jibe pair of the data-plane benchmark with telemetry off, and with Istio metrics plus",
    "tracing at 1% and 100% sampling (OTLP/HTTP export to a local sink), same run, same load.",
    "Ratios are to `telemetry off`.",
    `OTLP export requests received by the sink: ${outcome.spans ?? "n/a"}.`,
    "",
    ...renderOutcome(outcome, "telemetry off", { invert: true }),
  ].join("\n");
}

async function startSpanSink(): Promise<{ url: string; requests(): number; stop(): Promise<void> }> {
  let requests = 0;
  const server: Server = createServer((req, res) => {
    requests++;
    req.resume();
    req.on("end", () => res.writeHead(200, { "content-type": "application/json" }).end("{}"));
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/v1/traces`,
    requests: () => requests,
    stop: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}
