import { type ChildProcess, spawn } from "node:child_process";
import { constants } from "node:fs";
import { access, mkdir, mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { connect as tcpConnect } from "node:net";
import { tmpdir } from "node:os";
import { delimiter, join } from "node:path";
import { BrokerError } from "./errors.ts";
import { type Logger, silentLogger } from "./logger.ts";

/**
 * Node adapter: runs a local nats-server (JetStream + a plain WebSocket listener, loopback only)
 * for development and tests, or resolves an existing one from `JIBE_NATS_URL`.
 *
 * @example
 * ```ts
 * const nats = await startNatsServer();           // free ports, temp store dir
 * const nc = await connectNats(nats.url);          // edge workers use nats.wsUrl
 * await nats.stop();                               // SIGTERM, then removes its temp dir
 *
 * const bus = await resolveNatsServer(process.env); // JIBE_NATS_URL if set, else launches one
 * ```
 */
export interface NatsServerHandle {
  url: string;
  wsUrl: string;
  pid: number;
  storeDir: string;
  stop(): Promise<void>;
}

export interface StartNatsServerOptions {
  /** JetStream store directory, kept on stop. Default: a temp dir, removed on stop. */
  storeDir?: string;
  log?: Logger;
  /** Client port; default a free one. Fix it (with `wsPort`) to restart a server where clients expect it. */
  port?: number;
  /** WebSocket port; default a free one. */
  wsPort?: number;
  /** nats-server binary; default: searched on PATH, then /usr/sbin and /usr/bin. */
  binary?: string;
  /** How long to wait for the client port to accept connections. Default 10 s. */
  readyTimeoutMs?: number;
}

export const NATS_SERVER_NOT_FOUND =
  "nats-server not found; install it with `apt-get install -y nats-server` (Debian/Ubuntu) or from " +
  "https://nats.io, or set JIBE_NATS_URL to use an existing server";

const STOP_TIMEOUT_MS = 5_000;

async function isExecutable(path: string): Promise<boolean> {
  try {
    await access(path, constants.X_OK);
    return true;
  } catch {
    return false;
  }
}

/** The nats-server binary on this machine, or `undefined`. */
export async function findNatsServer(
  env: Record<string, string | undefined> = process.env,
  fallbacks: readonly string[] = ["/usr/sbin/nats-server", "/usr/bin/nats-server"],
): Promise<string | undefined> {
  const onPath = (env.PATH ?? "").split(delimiter).filter(Boolean);
  const candidates = [...onPath.map((dir) => join(dir, "nats-server")), ...fallbacks];
  for (const candidate of candidates) if (await isExecutable(candidate)) return candidate;
  return undefined;
}

/** The server config the launcher writes; `broker/nats/jibe-dev.conf` is the same for humans. */
export function natsServerConfig(wsPort = -1): string {
  return [
    "websocket {",
    '  host: "127.0.0.1"',
    `  port: ${wsPort}`,
    "  no_tls: true",
    "}",
    "max_payload: 1MB",
    "",
  ].join("\n");
}

/** Starts nats-server and resolves once its client port accepts connections. */
export async function startNatsServer(opts: StartNatsServerOptions = {}): Promise<NatsServerHandle> {
  const log = opts.log ?? silentLogger;
  const binary = opts.binary ?? (await findNatsServer());
  if (!binary || !(await isExecutable(binary))) {
    const tried = binary ? ` (tried ${binary})` : "";
    throw new BrokerError("nats-server-not-found", `${NATS_SERVER_NOT_FOUND}${tried}`, { user: true });
  }

  const workDir = await mkdtemp(join(tmpdir(), "jibe-nats-"));
  const storeDir = opts.storeDir ?? join(workDir, "store");
  await mkdir(storeDir, { recursive: true });
  const confPath = join(workDir, "nats.conf");
  await writeFile(confPath, natsServerConfig(opts.wsPort));
  const args = ["-a", "127.0.0.1", "-p", String(opts.port ?? -1), "-js", "-sd", storeDir];
  args.push("--ports_file_dir", workDir, "-c", confPath);

  const child = spawn(binary, args, { stdio: ["ignore", "pipe", "pipe"] });
  const output: string[] = [];
  const keep = (chunk: Buffer) => {
    for (const line of chunk.toString("utf8").split("\n")) {
      if (!line) continue;
      output.push(line);
      if (output.length > 40) output.shift();
      log.debug(`[nats-server] ${line}`);
    }
  };
  child.stdout?.on("data", keep);
  child.stderr?.on("data", keep);
  const exited = new Promise<void>((resolve) => child.once("exit", () => resolve()));
  const killOnExit = () => child.kill("SIGKILL");
  process.once("exit", killOnExit);

  let stopping: Promise<void> | undefined;
  const stop = () => {
    stopping ??= (async () => {
      process.removeListener("exit", killOnExit);
      await terminate(child, exited);
      await rm(workDir, { recursive: true, force: true });
    })();
    return stopping;
  };

  try {
    const ports = await waitForPorts(child, exited, workDir, opts.readyTimeoutMs ?? 10_000);
    log.info(`nats-server ${ports.url} (ws ${ports.wsUrl}), store ${storeDir}`);
    return { ...ports, pid: child.pid ?? -1, storeDir, stop };
  } catch (err) {
    await stop();
    const message = err instanceof Error ? err.message : String(err);
    throw new BrokerError("nats-server-failed", `${message}\n${output.join("\n")}`.trim(), { cause: err });
  }
}

async function terminate(child: ChildProcess, exited: Promise<void>): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  child.kill("SIGTERM");
  const timedOut = await Promise.race([
    exited.then(() => false),
    new Promise<boolean>((resolve) => setTimeout(() => resolve(true), STOP_TIMEOUT_MS).unref()),
  ]);
  if (timedOut) {
    child.kill("SIGKILL");
    await exited;
  }
}

async function waitForPorts(
  child: ChildProcess,
  exited: Promise<void>,
  portsDir: string,
  timeoutMs: number,
): Promise<{ url: string; wsUrl: string }> {
  let hasExited = false;
  void exited.then(() => {
    hasExited = true;
  });
  const deadline = Date.now() + timeoutMs;
  const portsFile = join(portsDir, `nats-server_${child.pid}.ports`);
  while (Date.now() < deadline) {
    if (hasExited) throw new Error(`nats-server exited with code ${child.exitCode} before it was ready`);
    const ports = await readPortsFile(portsFile);
    if (ports && (await acceptsConnections(ports.url))) return ports;
    await new Promise((resolve) => setTimeout(resolve, 25));
  }
  throw new Error(`nats-server did not accept connections within ${timeoutMs} ms`);
}

async function readPortsFile(path: string): Promise<{ url: string; wsUrl: string } | undefined> {
  try {
    const parsed = JSON.parse(await readFile(path, "utf8")) as { nats?: string[]; websocket?: string[] };
    const url = parsed.nats?.[0];
    const wsUrl = parsed.websocket?.[0];
    return url && wsUrl ? { url, wsUrl } : undefined;
  } catch {
    return undefined; // not written yet, or half-written
  }
}

function acceptsConnections(natsUrl: string): Promise<boolean> {
  const { hostname, port } = new URL(natsUrl);
  return new Promise((resolve) => {
    const socket = tcpConnect({ host: hostname, port: Number(port) });
    socket.once("connect", () => {
      socket.destroy();
      resolve(true);
    });
    socket.once("error", () => resolve(false));
  });
}

/** Where the bus is: `JIBE_NATS_URL` (+ `JIBE_NATS_WS_URL`) when set, else a launched server. */
export async function resolveNatsServer(
  env: Record<string, string | undefined> = process.env,
  opts: StartNatsServerOptions = {},
): Promise<{ url: string; wsUrl?: string; stop(): Promise<void>; external: boolean }> {
  const external = env.JIBE_NATS_URL?.trim();
  if (external) {
    const wsUrl = env.JIBE_NATS_WS_URL?.trim() || undefined;
    return { url: external, ...(wsUrl ? { wsUrl } : {}), stop: async () => {}, external: true };
  }
  const handle = await startNatsServer(opts);
  return { url: handle.url, wsUrl: handle.wsUrl, stop: handle.stop, external: false };
}
