import { type CommandSpec, NAMESPACE_OPTION, stringOption } from "../command.ts";
import { CliError } from "../errors.ts";
import { checkMtls, formatMtlsVerdict, MTLS_EXIT, selectWorkloads } from "../mesh-tls-report.ts";

/**
 * `jibe mtls check <from> <to>`: "is traffic from A to B using mTLS?", answered from what the
 * proxies observed (the identities each side presented, requests by transport) and the server's
 * PeerAuthentication mode. Exit 0 all mTLS, 3 some not, 4 nothing observed yet.
 */
export const mtlsCommand: CommandSpec = {
  name: "mtls",
  summary:
    "mutual TLS tools: `check <from> <to>` says whether traffic from A to B uses mTLS (exit 0), not (3), or is unseen (4)",
  arguments: [
    { name: "action", required: true, description: "check" },
    { name: "from", required: true, description: "client workload: proxy id, app label value, or labels" },
    { name: "to", required: true, description: "server workload: proxy id, app label value, or labels" },
  ],
  options: [
    {
      ...NAMESPACE_OPTION,
      description: "namespace of both workloads (or use --from-namespace/--to-namespace)",
    },
    { flags: "--from-namespace <namespace>", description: "namespace of the client workload" },
    { flags: "--to-namespace <namespace>", description: "namespace of the server workload" },
    {
      flags: "-o, --output <format>",
      description: "output format",
      default: "text",
      choices: ["text", "json"],
    },
  ],
  examples: [
    "jibe mtls check productpage reviews",
    "jibe mtls check app=sleep app=httpbin --to-namespace foo",
  ],
  async run(ctx, [action, from, to], options) {
    if (action !== "check")
      throw new CliError("usage", `unknown mtls action "${action}"; use: jibe mtls check <from> <to>`);
    const namespace = stringOption(options, "namespace") ?? "default";
    const reports = await (await ctx.client()).proxies();
    const verdict = checkMtls(
      selectWorkloads(reports, from ?? "", stringOption(options, "fromNamespace") ?? namespace),
      selectWorkloads(reports, to ?? "", stringOption(options, "toNamespace") ?? namespace),
    );
    ctx.io.stdout.write(
      stringOption(options, "output") === "json"
        ? `${JSON.stringify(verdict, null, 2)}\n`
        : formatMtlsVerdict(verdict),
    );
    return MTLS_EXIT[verdict.verdict];
  },
};
