import { existsSync } from "node:fs";
import { join } from "node:path";
import type { KubeConfig } from "@kubernetes/client-node";
import { loadKubeConfig } from "../k8s-adapter/kube-client.ts";
import { type CliIo, type OptionSpec, stringOption } from "./command.ts";
import { CliError } from "./errors.ts";

/** `--kubeconfig` and `--context`, for the commands that talk to a Kubernetes cluster. */
export const KUBE_OPTIONS: readonly OptionSpec[] = [
  { flags: "--kubeconfig <file>", description: "kubeconfig file (default $KUBECONFIG, then ~/.kube/config)" },
  { flags: "--context <name>", description: "kubeconfig context (default: the current one)" },
];

/**
 * The kubeconfig the way kubectl finds it (`--kubeconfig`, `$KUBECONFIG`, `~/.kube/config`, in-cluster),
 * with a clear user error instead of client-node's silent localhost:8080 fallback.
 *
 * @example
 * ```ts
 * const kc = kubeConfigFrom(options, ctx.io.env);
 * ```
 */
export function kubeConfigFrom(options: Readonly<Record<string, unknown>>, env: CliIo["env"]): KubeConfig {
  const file = stringOption(options, "kubeconfig");
  const context = stringOption(options, "context");
  const fromEnv = (env.KUBECONFIG ?? "").split(":").filter(Boolean);
  const home = env.HOME ? join(env.HOME, ".kube", "config") : undefined;
  if (file && !existsSync(file))
    throw new CliError("input", `--kubeconfig ${file}: no such file; pass the path of a kubeconfig`);
  if (!file && fromEnv.length > 0 && !fromEnv.some((f) => existsSync(f)))
    throw new CliError("input", `KUBECONFIG=${env.KUBECONFIG}: no such file; point it at a kubeconfig`);
  const inCluster =
    !file && fromEnv.length === 0 && !(home && existsSync(home)) && !!env.KUBERNETES_SERVICE_HOST;
  if (!file && fromEnv.length === 0 && !(home && existsSync(home)) && !inCluster)
    throw new CliError(
      "input",
      "no kubeconfig found: set KUBECONFIG, pass --kubeconfig FILE, or create ~/.kube/config (e.g. kind export kubeconfig)",
    );
  // The file is resolved here (not by client-node from process.env) so the command reads only its own io.env.
  const path = file ?? fromEnv.find((f) => existsSync(f)) ?? (home && existsSync(home) ? home : undefined);
  try {
    return loadKubeConfig({
      ...(path ? { kubeconfig: path } : { inCluster: true }),
      ...(context ? { context } : {}),
    });
  } catch (error) {
    throw new CliError("input", `cannot load the kubeconfig: ${(error as Error).message}`, { cause: error });
  }
}
