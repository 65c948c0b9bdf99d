import { type CommandSpec, NAMESPACE_OPTION, stringOption } from "../command.ts";
import { CliError } from "../errors.ts";
import { formatSecrets, selectWorkloads } from "../mesh-tls-report.ts";

/**
 * `jibe proxy-config secret <workload>`: each proxy's certificate chain and trusted roots with
 * serial and validity, as the proxies report them on the bus (not what the CA thinks it issued).
 */
export const proxyConfigCommand: CommandSpec = {
  name: "proxy-config",
  summary: "what running proxies hold: `secret` shows a workload's certificate chain, serials and validity",
  arguments: [
    { name: "what", required: true, description: "secret" },
    {
      name: "workload",
      required: true,
      description: "proxy id, app label value, or labels (app=reviews,version=v1)",
    },
  ],
  options: [
    { ...NAMESPACE_OPTION, description: "namespace of the workload" },
    {
      flags: "-o, --output <format>",
      description: "output format",
      default: "text",
      choices: ["text", "json"],
    },
  ],
  examples: [
    "jibe proxy-config secret reviews",
    "jibe proxy-config secret sidecar~productpage-v1~default -o json",
  ],
  async run(ctx, [what, workload], options) {
    if (what !== "secret")
      throw new CliError("usage", `unknown proxy-config "${what}"; use: jibe proxy-config secret <workload>`);
    const reports = selectWorkloads(
      await (await ctx.client()).proxies(),
      workload ?? "",
      stringOption(options, "namespace") ?? "default",
    );
    ctx.io.stdout.write(
      stringOption(options, "output") === "json"
        ? `${JSON.stringify(
            reports.map((r) => ({ proxy: r.proxy, ...r.secret })),
            null,
            2,
          )}\n`
        : formatSecrets(reports),
    );
    return 0;
  },
};
