import { type CommandSpec, flagOption, NAMESPACE_OPTION, stringOption } from "../command.ts";
import { CliError } from "../errors.ts";
import { formatApplyLine } from "../output.ts";

/**
 * `jibe rollback KIND NAME --to REVISION [-n NS] [--dry-run]`: re-applies the signed value kept at
 * that config-store revision (see `jibe history`) through the validated apply path, as a new revision.
 */
export const rollbackCommand: CommandSpec = {
  name: "rollback",
  summary: "re-apply a resource as it was at a revision of its history (a new write, validated like apply)",
  arguments: [
    { name: "kind", required: true, description: "kind of the resource (vs, dr, we, svc, ...)" },
    { name: "name", required: true, description: "resource name" },
  ],
  options: [
    NAMESPACE_OPTION,
    { flags: "--to <revision>", description: "the revision to go back to (from `jibe history`)" },
    { flags: "--dry-run", description: "show what would change without writing anything" },
  ],
  examples: [
    "jibe history vs reviews",
    "jibe rollback vs reviews --to 12",
    "jibe rollback vs reviews --to 12 --dry-run",
  ],
  async run(ctx, [kind, name], options) {
    const to = stringOption(options, "to");
    const revision = Number(to);
    if (to === undefined || !Number.isInteger(revision) || revision < 1)
      throw new CliError(
        "usage",
        `--to must be a revision from \`jibe history ${kind} ${name}\`, e.g. --to 12${to === undefined ? "" : ` (got "${to}")`}`,
      );
    const ref = { kind: kind!, namespace: stringOption(options, "namespace") ?? "default", name: name! };
    const dryRun = flagOption(options, "dryRun");
    const outcome = await (await ctx.client()).rollback(ref, revision, { dryRun });
    for (const result of outcome.results)
      ctx.io.stdout.write(`${formatApplyLine(result, dryRun)} (from revision ${outcome.rolledBackTo})\n`);
    return 0;
  },
};
