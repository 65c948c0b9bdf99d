import { ApiException } from "@kubernetes/client-node";
import { installObjects, toYamlDocuments } from "../../../infra/k8s/install/render.ts";
import {
  type InstallValues,
  MESH_NAMESPACE,
  PROFILE_NAMES,
  PROFILES,
  type ProfileName,
} from "../../../infra/k8s/install/values.ts";
import {
  connectInstallCluster,
  inspectInstallTarget,
  uninstallObjects,
} from "../../install/cluster-install.ts";
import { checkInstallTarget } from "../../install/install-checks.ts";
import { isDns1123Label } from "../../model/names.ts";
import { type CommandSpec, flagOption, type OptionSpec, stringOption } from "../command.ts";
import { CliError } from "../errors.ts";
import { KUBE_OPTIONS, kubeConfigFrom } from "../kube-config.ts";

const PROFILE_OPTION: OptionSpec = {
  flags: "--profile <profile>",
  description: "default (3 NATS servers), demo (1, injection never blocks Pods) or minimal (no injector)",
  default: "default",
  choices: PROFILE_NAMES,
};
const CLUSTER_NAME_OPTION: OptionSpec = {
  flags: "--cluster-name <name>",
  description: "this cluster's name in the mesh (default cluster-1)",
};

type Installed = { apiVersion: string; kind: string; metadata: { name: string; namespace?: string } };

function valuesFrom(options: Readonly<Record<string, unknown>>): InstallValues {
  const profile = (stringOption(options, "profile") ?? "default") as ProfileName;
  const clusterName = stringOption(options, "clusterName");
  if (clusterName !== undefined && !isDns1123Label(clusterName))
    throw new CliError("usage", `--cluster-name "${clusterName}" must be a DNS-1123 label, e.g. "east-1"`);
  return { ...PROFILES[profile], ...(clusterName ? { clusterName } : {}) };
}

/** Turns a failed Kubernetes call into one line that says where and what. */
async function talkingTo<T>(server: string, call: () => Promise<T>): Promise<T> {
  try {
    return await call();
  } catch (error) {
    if (error instanceof CliError) throw error;
    if (error instanceof ApiException) {
      const body = typeof error.body === "string" ? error.body : JSON.stringify(error.body);
      const message = (() => {
        try {
          return (JSON.parse(body) as { message?: string }).message ?? body;
        } catch {
          return body;
        }
      })();
      const hint =
        error.code === 401 || error.code === 403
          ? " (check the kubeconfig's credentials; install needs cluster-admin)"
          : "";
      throw new CliError(
        "failed",
        `the Kubernetes API server at ${server} answered ${error.code}: ${message}${hint}`,
        {
          cause: error,
        },
      );
    }
    const code =
      (error as { code?: string; cause?: { code?: string } }).cause?.code ??
      (error as { code?: string }).code;
    if (code === "ECONNREFUSED" || code === "ENOTFOUND" || code === "ETIMEDOUT")
      throw new CliError(
        "failed",
        `cannot reach the Kubernetes API server at ${server} (${code}): is the cluster up and the kubeconfig's context right?`,
        { cause: error },
      );
    throw error;
  }
}

const ref = (o: Installed) => `${o.kind.toLowerCase()}/${o.metadata.name}`;

/** Every kind an install may create (the default profile has them all), in install order. */
function installedKinds(): { apiVersion: string; kind: string; namespaced: boolean }[] {
  const kinds = new Map<string, { apiVersion: string; kind: string; namespaced: boolean }>();
  for (const o of installObjects(PROFILES.default) as Installed[])
    kinds.set(`${o.apiVersion}/${o.kind}`, {
      apiVersion: o.apiVersion,
      kind: o.kind,
      namespaced: !!o.metadata.namespace,
    });
  return [...kinds.values()];
}

/** `jibe install`: checks the cluster, then creates or updates every object of the profile. */
export const installCommand: CommandSpec = {
  name: "install",
  summary: "install Jibe into the current Kubernetes cluster (checks the cluster first)",
  options: [
    PROFILE_OPTION,
    CLUSTER_NAME_OPTION,
    {
      flags: "--dry-run",
      description: "print the manifests instead of applying them (same as manifest generate)",
    },
    { flags: "--skip-crds", description: "keep the Istio CRDs already in the cluster (another install's)" },
    ...KUBE_OPTIONS,
  ],
  examples: ["jibe install --profile demo", "jibe install --dry-run | kubectl apply --server-side -f -"],
  async run(ctx, _args, options) {
    const values = valuesFrom(options);
    let objects = installObjects(values) as Installed[];
    if (flagOption(options, "dryRun")) {
      ctx.io.stdout.write(toYamlDocuments(objects));
      return 0;
    }
    const isCrd = (o: Installed) => o.kind === "CustomResourceDefinition";
    const keptCrds = flagOption(options, "skipCrds") ? objects.filter(isCrd) : [];
    if (keptCrds.length > 0) objects = objects.filter((o) => !isCrd(o));
    const kc = kubeConfigFrom(options, ctx.io.env);
    const server = kc.getCurrentCluster()?.server ?? "(no server)";
    const cluster = connectInstallCluster(kc);
    const target = await talkingTo(server, () =>
      inspectInstallTarget(cluster, objects, values.injector.enabled, keptCrds),
    );
    const problems = checkInstallTarget(target);
    for (const p of problems) ctx.io.stderr.write(`${p.severity}: [${p.code}] ${p.message}\n`);
    const errors = problems.filter((p) => p.severity === "error").length;
    if (errors > 0)
      throw new CliError("failed", `install stopped before changing anything: ${errors} problem(s) above`);
    for (const object of objects) {
      const action = await talkingTo(server, () => cluster.apply(object));
      ctx.io.stdout.write(`${ref(object)} ${action}\n`);
    }
    // What an earlier install (another profile) created and this one does not want: e.g. the webhook after
    // switching to minimal. CRDs are never pruned here (that would delete every Istio resource).
    const pruned = await talkingTo(server, () =>
      uninstallObjects(cluster, installedKinds(), {
        namespace: MESH_NAMESPACE,
        purge: false,
        keep: new Set(objects.map((o) => `${o.kind}/${o.metadata.name}`)),
      }),
    );
    for (const name of pruned) ctx.io.stdout.write(`${name.toLowerCase()} pruned\n`);
    ctx.io.stdout.write(
      `jibe installed (profile ${stringOption(options, "profile") ?? "default"}, cluster ${values.clusterName}) on ${server}\n`,
    );
    return 0;
  },
};

/** `jibe uninstall`: deletes what install created (found by its label); CRDs only with --purge. */
export const uninstallCommand: CommandSpec = {
  name: "uninstall",
  summary: "remove what jibe install created (objects labelled app.kubernetes.io/part-of=jibe)",
  options: [
    {
      flags: "--purge",
      description: "also delete the CRDs, and with them every Istio resource in the cluster",
    },
    ...KUBE_OPTIONS,
  ],
  examples: ["jibe uninstall", "jibe uninstall --purge"],
  async run(ctx, _args, options) {
    const kc = kubeConfigFrom(options, ctx.io.env);
    const server = kc.getCurrentCluster()?.server ?? "(no server)";
    const cluster = connectInstallCluster(kc);
    const deleted = await talkingTo(server, () =>
      uninstallObjects(cluster, installedKinds(), {
        namespace: MESH_NAMESPACE,
        purge: flagOption(options, "purge"),
      }),
    );
    for (const name of deleted) ctx.io.stdout.write(`${name.toLowerCase()} deleted\n`);
    ctx.io.stdout.write(
      deleted.length ? `jibe uninstalled from ${server}\n` : `nothing of jibe's found on ${server}\n`,
    );
    return 0;
  },
};

/** `jibe manifest generate`: the YAML `jibe install` would apply. */
export const manifestCommand: CommandSpec = {
  name: "manifest",
  summary: "print the manifests of a profile (`jibe manifest generate --profile demo`)",
  arguments: [{ name: "action", required: true, description: "generate" }],
  options: [PROFILE_OPTION, CLUSTER_NAME_OPTION],
  examples: ["jibe manifest generate --profile minimal > jibe.yaml"],
  async run(ctx, args, options) {
    if (args[0] !== "generate")
      throw new CliError("usage", `unknown manifest action "${args[0]}"; use: jibe manifest generate`);
    ctx.io.stdout.write(toYamlDocuments(installObjects(valuesFrom(options))));
    return 0;
  },
};
