import type { AdminClient } from "./admin-client.ts";

/** What a command reads and writes; `bin.ts` passes the process's, tests their own. */
export interface CliIo {
  env: Readonly<Record<string, string | undefined>>;
  stdout: { write(text: string): unknown };
  stderr: { write(text: string): unknown };
  readStdin(): Promise<string>;
  /** Aborted on Ctrl-C; long-running commands (`watch`) stop cleanly. */
  signal?: AbortSignal;
}

/** What a command gets besides its arguments. */
export interface CommandContext {
  io: CliIo;
  /** The admin API client, configured from --admin-url/--token, the environment or `$JIBE_HOME`. */
  client(): Promise<AdminClient>;
}

/** A positional argument: `<name>` when required, `[name]` otherwise. */
export interface ArgumentSpec {
  name: string;
  required: boolean;
  description: string;
}

/** A commander option, as data. */
export interface OptionSpec {
  /** Commander flags, e.g. `-n, --namespace <namespace>`. */
  flags: string;
  description: string;
  default?: string | boolean;
  /** May be given several times; the value is then a `string[]`. */
  repeatable?: boolean;
  choices?: readonly string[];
}

/** Parsed option values by their camel-case name. */
export type OptionValues = Readonly<Record<string, unknown>>;

/**
 * One `jibe` command, declared as data; `run-cli.ts` turns the table into a commander program.
 * `run` resolves to the exit code (default 0) and throws user errors as `CliError`.
 *
 * @example
 * ```ts
 * export const historyCommand: CommandSpec = {
 *   name: "history", summary: "every stored revision of a resource",
 *   arguments: [{ name: "kind", required: true, description: "kind" }],
 *   async run(ctx, args, options) { ... return 0; },
 * };
 * ```
 */
export interface CommandSpec {
  name: string;
  summary: string;
  arguments?: readonly ArgumentSpec[];
  options?: readonly OptionSpec[];
  /** Shown under the command's help. */
  examples?: readonly string[];
  run(
    ctx: CommandContext,
    args: readonly (string | undefined)[],
    options: OptionValues,
  ): Promise<number | undefined>;
}

/** A string option's value (`undefined` when absent). */
export function stringOption(options: OptionValues, name: string): string | undefined {
  const value = options[name];
  return typeof value === "string" ? value : undefined;
}

/** A repeatable option's values. */
export function listOption(options: OptionValues, name: string): string[] {
  const value = options[name];
  return Array.isArray(value) ? value.filter((v): v is string => typeof v === "string") : [];
}

/** A boolean flag's value. */
export function flagOption(options: OptionValues, name: string): boolean {
  return options[name] === true;
}

/** Options several commands share. */
export const NAMESPACE_OPTION: OptionSpec = {
  flags: "-n, --namespace <namespace>",
  description: "namespace of the resource",
  default: "default",
};

export const OUTPUT_OPTION: OptionSpec = {
  flags: "-o, --output <format>",
  description: "output format",
  default: "table",
  choices: ["table", "yaml", "json"],
};

export const FILE_OPTION: OptionSpec = {
  flags: "-f, --filename <file>",
  description: "file with resources (YAML or JSON, multi-document; `-` for stdin); repeatable",
  repeatable: true,
};
