import { type CommandSpec, flagOption, NAMESPACE_OPTION, OUTPUT_OPTION, stringOption } from "../command.ts";
import { asList, formatDocuments, formatResourceTable } from "../output.ts";

/** `jibe get KIND [NAME] [-n NS | -A] [-o table|yaml|json]`. */
export const getCommand: CommandSpec = {
  name: "get",
  summary: "list resources of a kind, or show one",
  arguments: [
    {
      name: "kind",
      required: true,
      description: "VirtualService, DestinationRule, WorkloadEntry, Service (or vs, dr, we, svc)",
    },
    { name: "name", required: false, description: "resource name (omit to list)" },
  ],
  options: [
    NAMESPACE_OPTION,
    { flags: "-A, --all-namespaces", description: "list across every namespace" },
    OUTPUT_OPTION,
  ],
  examples: ["jibe get vs", "jibe get vs reviews -o yaml", "jibe get dr -A"],
  async run(ctx, [kind, name], options) {
    const client = await ctx.client();
    const namespace = stringOption(options, "namespace") ?? "default";
    const output = stringOption(options, "output") ?? "table";
    const { stdout, stderr } = ctx.io;
    if (name) {
      const view = await client.get({ kind: kind!, namespace, name });
      if (output === "table") stdout.write(formatResourceTable([view], false, Date.now()));
      else stdout.write(formatDocuments(view.resource, output === "json" ? "json" : "yaml"));
      return 0;
    }
    const all = flagOption(options, "allNamespaces");
    const views = await client.list({ kind: kind!, ...(all ? {} : { namespace }) });
    if (output !== "table") {
      stdout.write(
        formatDocuments(asList(views.map((v) => v.resource)), output === "json" ? "json" : "yaml"),
      );
    } else if (views.length === 0) {
      stderr.write(all ? "No resources found.\n" : `No resources found in ${namespace} namespace.\n`);
    } else {
      stdout.write(formatResourceTable(views, all, Date.now()));
    }
    return 0;
  },
};
