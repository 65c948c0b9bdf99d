import { spawn } from "node:child_process";
import { fileURLToPath } from "node:url";
import type { SampleService } from "../../infra/samples/bookinfo/index.ts";
import type { SampleWorkload } from "./bookinfo-topology.ts";

const MAIN = fileURLToPath(new URL("../../infra/samples/bookinfo/main.ts", import.meta.url));
const PRELOAD = fileURLToPath(new URL("../../workers/propagation/preload.ts", import.meta.url));

/**
 * Runs one bookinfo instance as its own Node process that does NOT copy trace headers itself
 * (`--no-trace-headers`) but is started with the propagation preload (`--import jibe/propagation`):
 * an app without tracing code whose traces still stitch. Resolves once it listens.
 *
 * @example
 * ```ts
 * const app = await startPreloadedSample({ service: "reviews", version: "v1" }, "http://127.0.0.1:15001", "127.0.0.1");
 * await app.stop();
 * ```
 */
export async function startPreloadedSample(
  workload: SampleWorkload,
  outboundUrl: string,
  host: string,
): Promise<SampleService> {
  const args = ["--import", PRELOAD, MAIN, workload.service, workload.version];
  args.push("--port", "0", "--host", host, "--outbound", outboundUrl, "--no-trace-headers");
  const child = spawn(process.execPath, args, { stdio: ["ignore", "pipe", "inherit"] });
  const exited = new Promise<void>((resolve) => child.once("exit", () => resolve()));
  const port = await new Promise<number>((resolve, reject) => {
    let out = "";
    child.stdout.on("data", (chunk: Buffer) => {
      out += chunk.toString();
      const match = / on port (\d+)/.exec(out);
      if (match) resolve(Number(match[1]));
    });
    void exited.then(() => reject(new Error(`${workload.service} ${workload.version} exited: ${out}`)));
  });
  return {
    port,
    async stop() {
      if (child.exitCode === null) child.kill("SIGTERM");
      await exited;
    },
  };
}
