import { randomBytes } from "node:crypto";
import { chmod, mkdir, readFile, rm, stat, writeFile } from "node:fs/promises";
import { homedir } from "node:os";
import { join } from "node:path";
import type { Logger } from "../../broker/logger.ts";

/**
 * Files the control plane keeps in `$JIBE_HOME` (default `~/.jibe`, mode 0700):
 * `admin-token` (0600, the admin API bearer token) and `admin-url` (where the admin API listens, so the
 * CLI finds it). The signing key files are `broker/signing-key-file.ts`'s.
 *
 * @example
 * ```ts
 * const home = jibeHome(process.env);          // "/home/me/.jibe"
 * await ensureHome(home, console);
 * const token = await loadOrCreateAdminToken(home);
 * ```
 */
export const ADMIN_TOKEN_FILE = "admin-token";
export const ADMIN_URL_FILE = "admin-url";

/** `$JIBE_HOME`, else `~/.jibe`. */
export function jibeHome(env: Readonly<Record<string, string | undefined>>): string {
  return env.JIBE_HOME || join(homedir(), ".jibe");
}

/** Creates `home` with mode 0700; warns (does not chmod a directory it did not create) if it is open to others. */
export async function ensureHome(home: string, log?: Logger): Promise<void> {
  const created = await mkdir(home, { recursive: true, mode: 0o700 });
  if (created !== undefined) {
    await chmod(home, 0o700); // mkdir's mode is masked by the umask
    return;
  }
  const { mode } = await stat(home);
  if ((mode & 0o077) !== 0) {
    log?.warn(
      `${home} is accessible to other users (mode ${(mode & 0o777).toString(8)}); run: chmod 700 ${home}`,
    );
  }
}

/** Reads `home/admin-token`, creating it (32 random bytes, base64url, mode 0600) on first start. */
export async function loadOrCreateAdminToken(home: string): Promise<string> {
  const file = join(home, ADMIN_TOKEN_FILE);
  const token = randomBytes(32).toString("base64url");
  try {
    await writeFile(file, `${token}\n`, { mode: 0o600, flag: "wx" });
    return token;
  } catch (error) {
    if (!isCode(error, "EEXIST")) throw error;
  }
  const existing = (await readFile(file, "utf8")).trim();
  if (existing.length < 16) {
    throw new Error(`${file} holds no usable token (at least 16 characters); delete it to get a new one`);
  }
  const { mode } = await stat(file);
  if ((mode & 0o077) !== 0) await chmod(file, 0o600);
  return existing;
}

/** Records where the admin API listens, for the CLI. */
export async function writeAdminUrl(home: string, url: string): Promise<void> {
  await writeFile(join(home, ADMIN_URL_FILE), `${url}\n`, { mode: 0o600 });
}

/** Removes `admin-url` if it still names `url` (another control plane may have taken over since). */
export async function removeAdminUrl(home: string, url: string): Promise<void> {
  const file = join(home, ADMIN_URL_FILE);
  try {
    if ((await readFile(file, "utf8")).trim() === url) await rm(file, { force: true });
  } catch (error) {
    if (!isCode(error, "ENOENT")) throw error;
  }
}

function isCode(error: unknown, code: string): boolean {
  return typeof error === "object" && error !== null && (error as { code?: unknown }).code === code;
}
