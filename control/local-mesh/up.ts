import { homedir } from "node:os";
import { join } from "node:path";
import type { Logger } from "../../broker/logger.ts";
import { type EdgeLogLevel, type LocalMesh, startLocalMesh } from "./mesh.ts";

/** Options of `jibe up` (what `npm start` runs). */
export interface UpOptions {
  adminPort?: number;
  edgePort?: number;
  /** Local port of the Node ingress gateway (Istio's bookinfo Gateway, server port 8080). */
  gatewayPort?: number;
  home?: string;
  edge?: boolean;
  /** Start the Node ingress gateway (default true). */
  gateway?: boolean;
}

/**
 * Runs the whole mesh locally until Ctrl-C: embedded nats-server, control plane, bookinfo sample
 * behind sidecars, the Node ingress gateway and the edge worker in workerd. Ports: `JIBE_ADMIN_PORT`
 * (15000), `JIBE_EDGE_PORT` (8787), `JIBE_GATEWAY_PORT` (8080), `JIBE_EDGE_LOG_LEVEL` (wrangler's, default error); state in `JIBE_HOME` (~/.jibe) so the `jibe` CLI finds the token.
 *
 * @example
 * ```sh
 * npm start                       # or: npx jibe up --edge-port 8080
 * ```
 */
export async function runUp(options: UpOptions = {}): Promise<void> {
  const env = process.env;
  const home = options.home ?? env.JIBE_HOME ?? join(homedir(), ".jibe");
  const adminPort = options.adminPort ?? portFromEnv("JIBE_ADMIN_PORT", 15000);
  const edgePort = options.edgePort ?? portFromEnv("JIBE_EDGE_PORT", 8787);
  const gatewayPort = options.gatewayPort ?? portFromEnv("JIBE_GATEWAY_PORT", 8080);
  const log: Logger = {
    debug() {},
    info: (message: string) => console.log(`  ${message}`),
    warn: (message: string) => console.warn(`  warning: ${message}`),
    error: (message: string) => console.error(`  error: ${message}`),
  };

  console.log(
    "Starting Jibe: nats-server, control plane, bookinfo sample with sidecars, ingress gateway, edge worker...",
  );
  const edgeLogLevel = env.JIBE_EDGE_LOG_LEVEL as EdgeLogLevel | undefined;
  const mesh = await startLocalMesh({
    home,
    adminPort,
    edgePort,
    edge: options.edge,
    ...(options.gateway === false ? {} : { gatewayPort }),
    edgeLogLevel,
    log,
  });
  printBanner(mesh);

  // wrangler's embedded Miniflare installs SIGINT/SIGTERM handlers that call process.exit() at once,
  // which would skip stopping the sidecars, control plane and nats-server. mesh.stop() disposes the
  // edge worker itself (its process-exit hook stays as a last resort), so ours replace them.
  process.removeAllListeners("SIGINT");
  process.removeAllListeners("SIGTERM");
  await new Promise<void>((resolve) => {
    let stopping = false;
    const shutdown = (signal: string) => {
      if (stopping) return;
      stopping = true;
      console.log(`\n${signal}: stopping the mesh...`);
      mesh
        .stop()
        .then(() => console.log("Stopped."))
        .finally(resolve);
    };
    process.once("SIGINT", () => shutdown("SIGINT"));
    process.once("SIGTERM", () => shutdown("SIGTERM"));
  });
}

function printBanner(mesh: LocalMesh): void {
  const lines = [
    "",
    "Jibe is running.",
    "",
    `  Edge worker (workerd)   ${mesh.edgeUrl ?? "(disabled)"}`,
    `  Try                     curl ${mesh.edgeUrl ?? "<edge>"}/productpage`,
    `  Ingress gateway (Node)  ${mesh.gatewayUrl ?? "(disabled)"}   (Istio's bookinfo-gateway, server port 8080)`,
    `  Admin API               ${mesh.adminUrl}   (token in ${join(mesh.home, "admin-token")})`,
    `  NATS                    ${mesh.natsUrl}   (WebSocket ${mesh.natsWsUrl})`,
    "",
    "  Workloads (app port / sidecar inbound / sidecar outbound / sidecar admin):",
    ...mesh.workloads.map(
      (w) =>
        `    ${`${w.service} ${w.version}`.padEnd(16)} ${w.appPort} / ${w.inboundPort} / ${w.outboundPort} / ${w.adminPort}`,
    ),
    "  Prometheus scrape targets (path /stats/prometheus):",
    `    sidecars  ${mesh.workloads.map((w) => `127.0.0.1:${w.adminPort}`).join(" ")}`,
    `    edge      ${mesh.adminUrl}/stats/prometheus   (pushed by the edge over NATS)`,
    `  Tracing                 100% sampled; spans to ${process.env.JIBE_OTLP_ENDPOINT ?? "nowhere (set JIBE_OTLP_ENDPOINT)"}`,
    "",
    "  Route all reviews traffic to v3:",
    "    npx jibe apply -f infra/samples/bookinfo/destination-rules.yaml",
    "    npx jibe apply -f infra/samples/bookinfo/reviews-v3.yaml",
    "  Watch policy events:   npx jibe watch",
    "",
    "Press Ctrl-C to stop.",
  ];
  console.log(lines.join("\n"));
}

function portFromEnv(name: string, fallback: number): number {
  const raw = process.env[name];
  if (raw === undefined || raw === "") return fallback;
  const port = Number(raw);
  if (!Number.isInteger(port) || port < 0 || port > 65535) {
    throw new Error(`${name}=${raw} is not a port number; use an integer from 0 to 65535`);
  }
  return port;
}
