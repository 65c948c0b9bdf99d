import { Command, CommanderError, Option } from "commander";
import { isJibeError } from "../../broker/errors.ts";
import { AdminApiError, AdminUnreachableError, createAdminClient } from "./admin-client.ts";
import type { CliIo, CommandContext, CommandSpec, OptionSpec } from "./command.ts";
import { analyzeCommand } from "./commands/analyze.ts";
import { applyCommand } from "./commands/apply.ts";
import { authzCommand } from "./commands/authz.ts";
import { caCommand } from "./commands/ca.ts";
import { deleteCommand } from "./commands/delete.ts";
import { getCommand } from "./commands/get.ts";
import { historyCommand } from "./commands/history.ts";
import { installCommand, manifestCommand, uninstallCommand } from "./commands/install.ts";
import { mtlsCommand } from "./commands/mtls.ts";
import { proxyConfigCommand } from "./commands/proxy-config.ts";
import { proxyStatusCommand } from "./commands/proxy-status.ts";
import { rollbackCommand } from "./commands/rollback.ts";
import { upCommand } from "./commands/up.ts";
import { validateCommand } from "./commands/validate.ts";
import { watchCommand } from "./commands/watch.ts";
import { CliError } from "./errors.ts";
import { formatDiagnostic } from "./output.ts";
import { resolveAdminSettings } from "./settings.ts";

/** Every `jibe` command, in help order. */
export const COMMANDS: readonly CommandSpec[] = [
  applyCommand,
  getCommand,
  deleteCommand,
  validateCommand,
  historyCommand,
  rollbackCommand,
  watchCommand,
  authzCommand,
  mtlsCommand,
  proxyConfigCommand,
  proxyStatusCommand,
  caCommand,
  upCommand,
  analyzeCommand,
  installCommand,
  uninstallCommand,
  manifestCommand,
];

/**
 * Runs the `jibe` CLI and resolves to its exit code. User errors print one clear line (and any field-level
 * diagnostics); internal errors print their stack only with `JIBE_DEBUG=1`.
 *
 * @example
 * ```ts
 * process.exitCode = await runCli(["get", "vs"], nodeIo());
 * ```
 */
export async function runCli(argv: readonly string[], io: CliIo): Promise<number> {
  let exitCode = 0;
  const program = new Command("jibe")
    .description("Jibe service mesh: apply and inspect policy through the control plane's admin API")
    .option(
      "--admin-url <url>",
      "admin API URL (env JIBE_ADMIN_URL, else $JIBE_HOME/admin-url, else http://127.0.0.1:15000)",
    )
    .option("--token <token>", "admin API token (env JIBE_TOKEN, else $JIBE_HOME/admin-token)")
    .exitOverride()
    .configureOutput({ writeOut: (s) => io.stdout.write(s), writeErr: (s) => io.stderr.write(s) })
    .showHelpAfterError("(run with --help for usage)");

  const context: CommandContext = {
    io,
    client: async () =>
      createAdminClient(toClientOptions(await resolveAdminSettings(program.opts(), io.env))),
  };

  for (const spec of COMMANDS) {
    const command = program.command(spec.name).description(spec.summary);
    for (const arg of spec.arguments ?? [])
      command.argument(arg.required ? `<${arg.name}>` : `[${arg.name}]`, arg.description);
    for (const option of spec.options ?? []) command.addOption(toOption(option));
    if (spec.examples?.length)
      command.addHelpText("after", `\nExamples:\n${spec.examples.map((e) => `  ${e}`).join("\n")}`);
    command.action(async (...params: unknown[]) => {
      const self = params.at(-1) as Command;
      exitCode = (await spec.run(context, self.processedArgs as (string | undefined)[], self.opts())) ?? 0;
    });
  }

  try {
    await program.parseAsync([...argv], { from: "user" });
    return exitCode;
  } catch (error) {
    return reportError(error, io, program.opts());
  }
}

function toOption(spec: OptionSpec): Option {
  const option = new Option(spec.flags, spec.description);
  if (spec.choices) option.choices(spec.choices);
  if (spec.repeatable)
    option.argParser((value: string, previous: string[] | undefined) => [...(previous ?? []), value]);
  if (spec.default !== undefined) option.default(spec.default);
  return option;
}

function toClientOptions(settings: { adminUrl: string; token: string | undefined }) {
  return { url: settings.adminUrl, ...(settings.token ? { token: settings.token } : {}) };
}

function reportError(error: unknown, io: CliIo, flags: { adminUrl?: string }): number {
  const { stderr } = io;
  if (error instanceof CommanderError) return error.exitCode; // commander has printed it
  if (error instanceof AdminUnreachableError) {
    stderr.write(
      `error: cannot reach the Jibe admin API at ${error.url}: is \`npm start\` running? ` +
        "set JIBE_ADMIN_URL (or --admin-url) if it listens elsewhere\n",
    );
    return 1;
  }
  if (error instanceof AdminApiError) {
    for (const d of error.diagnostics) stderr.write(`${formatDiagnostic(d)}\n`);
    stderr.write(`error: ${error.status === 401 ? unauthorized(error.message, flags) : error.message}\n`);
    return 1;
  }
  if (error instanceof CliError) {
    for (const { file, diagnostic } of error.diagnostics)
      stderr.write(`${formatDiagnostic(diagnostic, file)}\n`);
    stderr.write(`error: ${error.message}\n`);
    return 1;
  }
  if (isJibeError(error) && error.user) {
    stderr.write(`error: ${error.message}\n`);
    return 1;
  }
  if (io.env.JIBE_DEBUG === "1") stderr.write(`${error instanceof Error ? error.stack : String(error)}\n`);
  else
    stderr.write(
      `internal error: ${error instanceof Error ? error.message : String(error)} (JIBE_DEBUG=1 shows the stack)\n`,
    );
  return 2;
}

function unauthorized(message: string, flags: { adminUrl?: string }): string {
  const where = flags.adminUrl ? ` at ${flags.adminUrl}` : "";
  return `the admin API${where} refused the credentials (${message}); set JIBE_TOKEN or --token to the token in $JIBE_HOME/admin-token`;
}
