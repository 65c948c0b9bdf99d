/**
 * Test support (not a `*.test.ts`): certificates made by the real `openssl` CLI in a temp folder, for
 * gateway tests driven by `curl` and `openssl s_client`.
 */
import { execFile } from "node:child_process";
import { mkdir, mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";

const run = promisify(execFile);

/** What a command-line client printed, and its exit code. */
export interface CommandResult {
  code: number;
  stdout: string;
  stderr: string;
}

/** Runs a command and returns its exit code and output, never throwing on a non-zero exit. */
export async function runCommand(command: string, args: string[], input?: string): Promise<CommandResult> {
  const child = run(command, args, { timeout: 15_000 });
  if (input !== undefined) child.child.stdin?.end(input);
  else child.child.stdin?.end();
  try {
    const { stdout, stderr } = await child;
    return { code: 0, stdout, stderr };
  } catch (error) {
    const failed = error as { code?: number; stdout?: string; stderr?: string };
    return {
      code: typeof failed.code === "number" ? failed.code : 1,
      stdout: failed.stdout ?? "",
      stderr: failed.stderr ?? "",
    };
  }
}

/**
 * `curl` over HTTPS to `host:port` resolved to 127.0.0.1; the last line of stdout is the status.
 *
 * @example
 * ```ts
 * const out = await curlHttps("shop.example.test", 8443, "/", "--cacert", caFile);
 * ```
 */
export function curlHttps(
  host: string,
  port: number,
  path: string,
  ...extra: string[]
): Promise<CommandResult> {
  return runCommand("curl", [
    "-sS",
    "--max-time",
    "10",
    "--resolve",
    `${host}:${port}:127.0.0.1`,
    "-w",
    "\n%{http_code}",
    ...extra,
    `https://${host}:${port}${path}`,
  ]);
}

/**
 * `openssl s_client` to 127.0.0.1:`port` with SNI `serverName`; `input` is sent (with `-ign_eof`
 * in `extra`, the answer is read until the server closes).
 *
 * @example
 * ```ts
 * const out = await sClient(8443, "shop.example.test", ["-CAfile", caFile]);
 * ```
 */
export function sClient(
  port: number,
  serverName: string,
  extra: string[] = [],
  input = "",
): Promise<CommandResult> {
  return runCommand(
    "openssl",
    ["s_client", "-connect", `127.0.0.1:${port}`, "-servername", serverName, ...extra],
    input,
  );
}

async function openssl(args: string[]): Promise<void> {
  const result = await runCommand("openssl", args);
  if (result.code !== 0) throw new Error(`openssl ${args.join(" ")}: ${result.stderr}`);
}

/** A folder of PEM files; `path(name)` is `<dir>/<name>`. */
export interface CertificateDir {
  dir: string;
  path(name: string): string;
  /** Makes a CA `<name>.crt` / `<name>.key` (P-256, one day). */
  ca(name: string): Promise<void>;
  /**
   * Makes `<name>.crt` / `<name>.key` signed by CA `ca`, with subjectAltName `san` (e.g. `DNS:a.test`);
   * a P-256 key, or RSA 2048 with `keyType: "rsa"`.
   */
  leaf(name: string, ca: string, san: string, keyType?: "ec" | "rsa"): Promise<void>;
  /** Makes `<ca>.crl`: CA `ca`'s revocation list, revoking the certificates `<name>.crt` of `revoked`. */
  crl(ca: string, revoked: string[]): Promise<void>;
  /** Copies PEM text into `<sub>/<file>` (a mounted Kubernetes Secret). */
  write(relative: string, text: string): Promise<void>;
  remove(): Promise<void>;
}

/**
 * Creates a temp folder for certificates made with openssl.
 *
 * @example
 * ```ts
 * const certs = await createCertificateDir();
 * await certs.ca("ca");
 * await certs.leaf("shop", "ca", "DNS:shop.example.test");
 * ```
 */
export async function createCertificateDir(): Promise<CertificateDir> {
  const dir = await mkdtemp(join(tmpdir(), "jibe-gateway-"));
  const path = (name: string) => join(dir, name);
  const newKey = ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes"];
  return {
    dir,
    path,
    async ca(name) {
      await openssl([
        "req",
        "-x509",
        ...newKey,
        "-keyout",
        path(`${name}.key`),
        "-out",
        path(`${name}.crt`),
        "-days",
        "1",
        "-subj",
        `/CN=${name}`,
      ]);
    },
    async leaf(name, ca, san, keyType = "ec") {
      await writeFile(path(`${name}.ext`), `subjectAltName=${san}\n`);
      // A DNS SAN is also the subject CN (what s_client prints); others get the file name.
      const cn = san.startsWith("DNS:") ? san.slice(4) : name;
      await openssl([
        "req",
        ...(keyType === "rsa" ? ["-newkey", "rsa:2048", "-nodes"] : newKey),
        "-keyout",
        path(`${name}.key`),
        "-out",
        path(`${name}.csr`),
        "-subj",
        `/CN=${cn}`,
      ]);
      await openssl([
        "x509",
        "-req",
        "-in",
        path(`${name}.csr`),
        "-CA",
        path(`${ca}.crt`),
        "-CAkey",
        path(`${ca}.key`),
        "-CAcreateserial",
        "-out",
        path(`${name}.crt`),
        "-days",
        "1",
        "-extfile",
        path(`${name}.ext`),
      ]);
    },
    async crl(ca, revoked) {
      // `openssl ca` keeps its state in a database file; a minimal config points at it.
      await writeFile(path(`${ca}-index.txt`), "");
      await writeFile(path(`${ca}-crlnumber`), "01\n");
      const config = path(`${ca}-ca.cnf`);
      await writeFile(
        config,
        `[ca]\ndefault_ca=jibe\n[jibe]\ndatabase=${path(`${ca}-index.txt`)}\ncrlnumber=${path(`${ca}-crlnumber`)}\ndefault_md=sha256\ndefault_crl_days=1\n`,
      );
      const signer = ["-config", config, "-keyfile", path(`${ca}.key`), "-cert", path(`${ca}.crt`)];
      for (const name of revoked) await openssl(["ca", ...signer, "-revoke", path(`${name}.crt`)]);
      await openssl(["ca", ...signer, "-gencrl", "-out", path(`${ca}.crl`)]);
    },
    async write(relative, text) {
      await mkdir(join(dir, relative, ".."), { recursive: true });
      await writeFile(join(dir, relative), text);
    },
    remove: () => rm(dir, { recursive: true, force: true }),
  };
}
