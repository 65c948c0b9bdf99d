import type { CommandSpec } from "../command.ts";
import { FILE_OPTION, flagOption, listOption } from "../command.ts";
import { problemsOf, type ResourceFile, readResourceFiles } from "../input-files.ts";
import { formatDiagnostic, plural } from "../output.ts";

/**
 * `jibe validate -f FILE...`: validates locally with the same model the control plane uses, so it works
 * offline (CI, pre-commit). `--server` asks the running control plane instead.
 */
export const validateCommand: CommandSpec = {
  name: "validate",
  summary: "check resources without applying them; exit 0 when valid",
  options: [
    FILE_OPTION,
    { flags: "--server", description: "validate with the running control plane instead of locally" },
  ],
  examples: ["jibe validate -f reviews-v3.yaml", "jibe validate --server -f reviews-v3.yaml"],
  async run(ctx, _args, options) {
    const files = await readResourceFiles(listOption(options, "filename"), ctx.io);
    if (flagOption(options, "server")) {
      const client = await ctx.client();
      for (const file of files) {
        if (file.diagnostics.some((d) => d.severity === "error")) continue; // unparseable: nothing to send
        file.diagnostics = (await client.validate(file.documents)).diagnostics;
      }
    } else await addReferenceWarnings(files);
    const { problems, errors } = problemsOf(files);
    for (const p of problems) ctx.io.stdout.write(`${formatDiagnostic(p.diagnostic, p.file)}\n`);
    if (errors > 0) {
      ctx.io.stderr.write(`${plural(errors, "error")}\n`);
      return 1;
    }
    ctx.io.stdout.write("valid\n");
    return 0;
  },
};

/**
 * Cross-resource checks over every file given together (warnings): a VirtualService bound to a
 * Gateway none of the files defines. Each warning goes to the file holding the VirtualService.
 */
async function addReferenceWarnings(files: ResourceFile[]): Promise<void> {
  const [{ validateDocuments }, { checkGatewayReferences }] = await Promise.all([
    import("../../model/validate.ts"),
    import("../../model/gateway-references.ts"),
  ]);
  const { resources } = validateDocuments(files.flatMap((f) => f.documents));
  for (const warning of checkGatewayReferences(resources)) {
    const [kind, namespace, name] = warning.resource.split("/");
    const owner = files.find((f) =>
      f.documents.some((doc) => {
        const d = doc as { kind?: unknown; metadata?: { name?: unknown; namespace?: unknown } };
        return (
          d?.kind === kind && d.metadata?.name === name && (d.metadata?.namespace ?? "default") === namespace
        );
      }),
    );
    owner?.diagnostics.push(warning);
  }
}
