import { type ChildProcess, spawn } from "node:child_process";
import { once } from "node:events";
import { type AddressInfo, createServer } from "node:net";
import { createInterface } from "node:readline";

/** A benchmark child process (proxy, upstream, load generator) and how to stop it. */
export interface BenchProcess {
  child: ChildProcess;
  pid: number;
  /** Everything it wrote to stderr so far (for error messages). */
  stderr(): string;
  stop(): Promise<void>;
}

/**
 * Starts `command` and resolves once it prints its first stdout line (parsed as JSON when
 * `json`), or once it has run `settleMs` when it prints nothing (haproxy, nginx); rejects if it
 * exits first.
 */
export async function startProcess(
  command: string,
  args: string[],
  options: { env?: Record<string, string>; settleMs?: number } = {},
): Promise<{ process: BenchProcess; firstLine: string }> {
  const child = spawn(command, args, {
    env: { ...process.env, ...options.env },
    stdio: ["ignore", "pipe", "pipe"],
  });
  let errText = "";
  child.stderr?.on("data", (d: Buffer) => {
    errText = (errText + d.toString()).slice(-4000);
  });
  const lines = createInterface({ input: child.stdout as NodeJS.ReadableStream });
  const exited = once(child, "exit").then(([code]) => {
    throw new Error(`${command} exited with ${code} before it was ready: ${errText.trim()}`);
  });
  const firstLine =
    options.settleMs === undefined
      ? once(lines, "line").then(([line]) => String(line))
      : new Promise<string>((resolve) => setTimeout(() => resolve(""), options.settleMs));
  try {
    const line = await Promise.race([firstLine, exited]);
    exited.catch(() => undefined);
    lines.on("line", () => undefined); // keep draining stdout
    const bench: BenchProcess = {
      child,
      pid: child.pid ?? 0,
      stderr: () => errText,
      async stop() {
        if (child.exitCode !== null || child.signalCode !== null) return;
        const done = once(child, "exit");
        child.kill("SIGTERM");
        const timer = setTimeout(() => child.kill("SIGKILL"), 5_000);
        await done;
        clearTimeout(timer);
      },
    };
    return { process: bench, firstLine: line };
  } catch (error) {
    child.kill("SIGKILL");
    throw error;
  }
}

/** Whether an executable is on the PATH (or at an absolute path). */
export async function hasCommand(command: string): Promise<boolean> {
  const child = spawn("sh", ["-c", `command -v ${command}`], { stdio: "ignore" });
  const [code] = await once(child, "exit");
  return code === 0;
}

/** A TCP port that was free a moment ago on 127.0.0.1. */
export async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as AddressInfo;
  await new Promise((resolve) => server.close(resolve));
  return port;
}
