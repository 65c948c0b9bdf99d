export {
  AdminApiError,
  type AdminClient,
  type AdminClientOptions,
  AdminUnreachableError,
  createAdminClient,
} from "./admin-client.ts";
export type { CliIo, CommandSpec } from "./command.ts";
export { CliError, type CliErrorCode } from "./errors.ts";
export { COMMANDS, runCli } from "./run-cli.ts";
export { type AdminSettings, DEFAULT_ADMIN_URL, resolveAdminSettings } from "./settings.ts";
export { readSse, type SseItem } from "./sse-reader.ts";
