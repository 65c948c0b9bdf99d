import { readFile } from "node:fs/promises";
import { join } from "node:path";
import { ADMIN_TOKEN_FILE, ADMIN_URL_FILE, jibeHome } from "../plane/home.ts";

/** Where the admin API is and how to authenticate to it. */
export interface AdminSettings {
  adminUrl: string;
  token: string | undefined;
}

export const DEFAULT_ADMIN_URL = "http://127.0.0.1:15000";

/**
 * Resolves the admin URL (`--admin-url`, `JIBE_ADMIN_URL`, `$JIBE_HOME/admin-url`, then
 * http://127.0.0.1:15000) and token (`--token`, `JIBE_TOKEN`, `$JIBE_HOME/admin-token`).
 *
 * @example
 * ```ts
 * const { adminUrl, token } = await resolveAdminSettings({}, process.env);
 * ```
 */
export async function resolveAdminSettings(
  flags: { adminUrl?: string; token?: string },
  env: Readonly<Record<string, string | undefined>>,
): Promise<AdminSettings> {
  const home = jibeHome(env);
  const adminUrl =
    flags.adminUrl ||
    env.JIBE_ADMIN_URL ||
    (await readSetting(join(home, ADMIN_URL_FILE))) ||
    DEFAULT_ADMIN_URL;
  const token = flags.token || env.JIBE_TOKEN || (await readSetting(join(home, ADMIN_TOKEN_FILE)));
  return { adminUrl, token };
}

async function readSetting(path: string): Promise<string | undefined> {
  try {
    return (await readFile(path, "utf8")).trim() || undefined;
  } catch {
    return undefined;
  }
}
