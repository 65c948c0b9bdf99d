import type { ResourceRef } from "../../../broker/events.ts";
import { formatRef } from "../../../broker/events.ts";
import { AdminApiError } from "../admin-client.ts";
import { type CommandSpec, FILE_OPTION, listOption, NAMESPACE_OPTION, stringOption } from "../command.ts";
import { CliError } from "../errors.ts";
import { readResourceFiles, refsOfDocuments } from "../input-files.ts";
import { formatDeleteLine } from "../output.ts";

/** `jibe delete KIND NAME [-n NS]` or `jibe delete -f FILE...` (each resource named in the files). */
export const deleteCommand: CommandSpec = {
  name: "delete",
  summary: "delete a resource, or every resource named in the files",
  arguments: [
    { name: "kind", required: false, description: "kind of the resource (vs, dr, we, svc, ...)" },
    { name: "name", required: false, description: "resource name" },
  ],
  options: [NAMESPACE_OPTION, FILE_OPTION],
  examples: ["jibe delete vs reviews", "jibe delete -f reviews-v3.yaml"],
  async run(ctx, [kind, name], options) {
    const files = listOption(options, "filename");
    let refs: ResourceRef[];
    if (files.length > 0) {
      if (kind) throw new CliError("usage", "give either KIND NAME or -f FILE, not both");
      refs = (await readResourceFiles(files, ctx.io)).flatMap(refsOfDocuments);
    } else {
      if (!kind || !name)
        throw new CliError("usage", "delete needs KIND NAME (e.g. `jibe delete vs reviews`) or -f FILE");
      refs = [{ kind, namespace: stringOption(options, "namespace") ?? "default", name }];
    }
    const client = await ctx.client();
    let failed = 0;
    for (const ref of refs) {
      try {
        ctx.io.stdout.write(`${formatDeleteLine(await client.delete(ref))}\n`);
      } catch (error) {
        // kubectl-style: report a missing resource and go on with the others.
        if (!(error instanceof AdminApiError && error.status === 404) || refs.length === 1) throw error;
        ctx.io.stderr.write(`error: ${formatRef(ref)} not found\n`);
        failed++;
      }
    }
    return failed > 0 ? 1 : 0;
  },
};
