import { execFile } from "node:child_process";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";

/**
 * Test helper: runs `openssl` (the independent verifier) on PEM files written to a temp dir.
 *
 * @example
 * ```ts
 * const out = await withPemFiles({ "root.pem": root, "leaf.pem": leaf }, (dir) =>
 *   openssl(["verify", "-CAfile", `${dir}/root.pem`, `${dir}/leaf.pem`]));
 * ```
 */
const run = promisify(execFile);

export interface OpensslResult {
  code: number;
  stdout: string;
  stderr: string;
}

export async function openssl(args: string[]): Promise<OpensslResult> {
  try {
    const { stdout, stderr } = await run("openssl", args);
    return { code: 0, stdout, stderr };
  } catch (err) {
    const failed = err as { code?: number; stdout?: string; stderr?: string };
    return {
      code: typeof failed.code === "number" ? failed.code : 1,
      stdout: failed.stdout ?? "",
      stderr: failed.stderr ?? "",
    };
  }
}

export async function withPemFiles<T>(
  files: Record<string, string>,
  use: (dir: string) => Promise<T>,
): Promise<T> {
  const dir = await mkdtemp(join(tmpdir(), "jibe-identity-"));
  try {
    for (const [name, text] of Object.entries(files)) await writeFile(join(dir, name), text);
    return await use(dir);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}
