import { type CommandSpec, FILE_OPTION, flagOption, listOption } from "../command.ts";
import { CliError } from "../errors.ts";
import { problemsOf, readResourceFiles } from "../input-files.ts";
import { formatApplyLine, formatDiagnostic, plural } from "../output.ts";

/** `jibe apply -f FILE...`: validate locally, then apply every document of every file in one all-or-nothing call. */
export const applyCommand: CommandSpec = {
  name: "apply",
  summary: "validate, then apply every resource in the files (nothing is applied if any is invalid)",
  options: [
    FILE_OPTION,
    { flags: "--dry-run", description: "show what would change without writing anything" },
  ],
  examples: ["jibe apply -f reviews-v3.yaml", "cat *.yaml | jibe apply -f -"],
  async run(ctx, _args, options) {
    const files = await readResourceFiles(listOption(options, "filename"), ctx.io);
    const { problems, errors } = problemsOf(files);
    if (errors > 0) {
      throw new CliError("input", `${plural(errors, "problem")} found; nothing was applied`, {
        diagnostics: problems,
      });
    }
    const documents = files.flatMap((f) => f.documents);
    if (documents.length === 0)
      throw new CliError("input", "no resources in the given files; nothing was applied");
    for (const p of problems) ctx.io.stderr.write(`${formatDiagnostic(p.diagnostic, p.file)}\n`);

    const dryRun = flagOption(options, "dryRun");
    const outcome = await (await ctx.client()).apply(documents, { dryRun });
    for (const result of outcome.results) ctx.io.stdout.write(`${formatApplyLine(result, dryRun)}\n`);
    return 0;
  },
};
