import { text } from "node:stream/consumers";
import type { CliIo } from "./command.ts";

/**
 * The process's stdin/stdout/stderr and environment. A command that reads `signal` gets Ctrl-C as an
 * abort, so it can end cleanly (the process exits anyway 1 s later, or at a second Ctrl-C); commands that
 * never read it keep Node's default Ctrl-C behaviour or install their own (`jibe up`).
 *
 * @example
 * ```ts
 * process.exitCode = await runCli(process.argv.slice(2), nodeIo());
 * ```
 */
export function nodeIo(): CliIo {
  let interrupted: AbortController | undefined;
  return {
    env: process.env,
    stdout: process.stdout,
    stderr: process.stderr,
    readStdin: () => text(process.stdin),
    get signal() {
      if (!interrupted) {
        const controller = new AbortController();
        interrupted = controller;
        process.once("SIGINT", () => {
          controller.abort();
          setTimeout(() => process.exit(130), 1_000).unref();
          process.once("SIGINT", () => process.exit(130));
        });
      }
      return interrupted.signal;
    },
  };
}
