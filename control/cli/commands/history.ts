import { type CommandSpec, NAMESPACE_OPTION, OUTPUT_OPTION, stringOption } from "../command.ts";
import { formatDocuments, formatHistoryTable } from "../output.ts";

/** `jibe history KIND NAME [-n NS] [-o table|yaml|json]`: every kept write of a resource, oldest first. */
export const historyCommand: CommandSpec = {
  name: "history",
  summary: "every stored revision of a resource (the config store keeps the last 10)",
  arguments: [
    { name: "kind", required: true, description: "kind of the resource (vs, dr, we, svc, ...)" },
    { name: "name", required: true, description: "resource name" },
  ],
  options: [NAMESPACE_OPTION, OUTPUT_OPTION],
  examples: ["jibe history vs reviews", "jibe history vs reviews -o yaml"],
  async run(ctx, [kind, name], options) {
    const ref = { kind: kind!, namespace: stringOption(options, "namespace") ?? "default", name: name! };
    const items = await (await ctx.client()).history(ref);
    const output = stringOption(options, "output") ?? "table";
    ctx.io.stdout.write(
      output === "table"
        ? formatHistoryTable(items)
        : formatDocuments(items, output === "json" ? "json" : "yaml"),
    );
    return 0;
  },
};
