import { CoreV1Api } from "@kubernetes/client-node";
import { type AnalyzedResource, analyzeConfig, type ClusterFacts } from "../../analyze/analyze.ts";
import { type CommandSpec, FILE_OPTION, flagOption, listOption, stringOption } from "../command.ts";
import { CliError } from "../errors.ts";
import { readResourceFiles } from "../input-files.ts";
import { KUBE_OPTIONS, kubeConfigFrom } from "../kube-config.ts";
import { plural } from "../output.ts";

/**
 * `jibe analyze`: problems across resources (codes JIBE3xxx, `control/analyze/analysis-codes.ts`) in the
 * applied configuration (admin API) or in files (`-f`). With `--kubeconfig`/`--context`/`--kube` it also
 * reads the cluster's namespaces, for the injection check.
 */
export const analyzeCommand: CommandSpec = {
  name: "analyze",
  summary: "report problems in the applied configuration (or in files) with stable codes; exit 1 on errors",
  options: [
    FILE_OPTION,
    { flags: "--kube", description: "read namespace labels from the current kubeconfig (injection check)" },
    ...KUBE_OPTIONS,
  ],
  examples: ["jibe analyze", "jibe analyze -f bookinfo.yaml -f reviews-v3.yaml", "jibe analyze --kube"],
  async run(ctx, _args, options) {
    const files = listOption(options, "filename");
    const resources: AnalyzedResource[] =
      files.length > 0
        ? (await readResourceFiles(files, ctx.io)).flatMap((f) => f.documents as AnalyzedResource[])
        : (await (await ctx.client()).list()).map((view) => view.resource as AnalyzedResource);
    const useKube =
      flagOption(options, "kube") ||
      !!stringOption(options, "kubeconfig") ||
      !!stringOption(options, "context");
    const cluster = useKube ? await readClusterFacts(options, ctx.io.env) : undefined;
    const { diagnostics, skipped } = analyzeConfig({ resources, ...(cluster ? { cluster } : {}) });
    for (const d of diagnostics)
      ctx.io.stdout.write(
        `${d.severity === "error" ? "Error" : "Warning"} [${d.code}] (${d.resource}) ${d.path}: ${d.message}\n`,
      );
    for (const note of skipped) ctx.io.stderr.write(`note: ${note}\n`);
    const errors = diagnostics.filter((d) => d.severity === "error").length;
    if (diagnostics.length === 0)
      ctx.io.stdout.write(`no problems found in ${plural(resources.length, "resource")}\n`);
    else
      ctx.io.stderr.write(`${plural(errors, "error")}, ${plural(diagnostics.length - errors, "warning")}\n`);
    return errors > 0 ? 1 : 0;
  },
};

async function readClusterFacts(
  options: Readonly<Record<string, unknown>>,
  env: Readonly<Record<string, string | undefined>>,
): Promise<ClusterFacts> {
  const kc = kubeConfigFrom(options, env);
  try {
    const list = await kc.makeApiClient(CoreV1Api).listNamespace();
    return {
      namespaces: list.items.map((ns) => ({
        name: ns.metadata?.name ?? "",
        labels: ns.metadata?.labels ?? {},
      })),
    };
  } catch (error) {
    throw new CliError(
      "failed",
      `cannot list namespaces at ${kc.getCurrentCluster()?.server}: ${(error as Error).message}`,
      { cause: error },
    );
  }
}
