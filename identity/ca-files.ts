import { chmod, mkdir, readFile, rename, stat, writeFile } from "node:fs/promises";
import { join } from "node:path";
import {
  type CaMaterial,
  type CertificateAuthority,
  loadCertificateAuthority,
} from "./certificate-authority.ts";
import { IdentityError } from "./errors.ts";
import { generateCaMaterial } from "./generate-ca.ts";

/**
 * Node adapter: the CA on disk. `$JIBE_HOME/ca/` holds Istio's plug-in CA file names:
 *
 * | file             | what                                              | mode |
 * | ---------------- | ------------------------------------------------- | ---- |
 * | `ca-cert.pem`    | the intermediate that signs workload certificates | 0644 |
 * | `ca-key.pem`     | its private key (PKCS#8)                          | 0600 |
 * | `cert-chain.pem` | `ca-cert.pem` + root                              | 0644 |
 * | `root-cert.pem`  | trusted root(s)                                   | 0644 |
 * | `root-key.pem`   | root key, self-signed CA only                     | 0600 |
 *
 * First start generates a self-signed root + intermediate there. A plug-in CA is a directory with
 * the first four files (from your own PKI; `ca-key.pem` may be SEC1 `EC PRIVATE KEY`), e.g.
 * `JIBE_CA_DIR=/etc/jibe/cacerts`; nothing is generated then.
 *
 * @example
 * ```ts
 * const { ca, source } = await loadOrCreateCaFiles({ home: "/root/.jibe", trustDomain: "cluster.local" });
 * const plugged = await loadPluginCaFiles({ dir: "/etc/jibe/cacerts", trustDomain: "cluster.local" });
 * ```
 */
export const CA_FILES = {
  caCert: "ca-cert.pem",
  caKey: "ca-key.pem",
  certChain: "cert-chain.pem",
  rootCert: "root-cert.pem",
  rootKey: "root-key.pem",
} as const;

export interface LoadedCa {
  ca: CertificateAuthority;
  source: "self-signed" | "plug-in";
  /** True when this call generated the self-signed CA. */
  created: boolean;
  dir: string;
}

async function exists(path: string): Promise<boolean> {
  return stat(path).then(
    () => true,
    () => false,
  );
}

async function readMaterial(dir: string): Promise<CaMaterial> {
  const read = async (name: string) => {
    try {
      return await readFile(join(dir, name), "utf8");
    } catch (err) {
      throw new IdentityError("ca-invalid", `${join(dir, name)}: cannot read (${(err as Error).message})`, {
        cause: err,
        user: true,
      });
    }
  };
  return {
    caCertPem: await read(CA_FILES.caCert),
    caKeyPem: await read(CA_FILES.caKey),
    certChainPem: await read(CA_FILES.certChain),
    rootCertPem: await read(CA_FILES.rootCert),
  };
}

async function writeAtomically(path: string, text: string, mode: number): Promise<void> {
  const temp = `${path}.${process.pid}.tmp`;
  await writeFile(temp, text, { mode });
  await chmod(temp, mode);
  await rename(temp, path);
}

/** Loads a user-supplied CA from `dir` (Istio's cacerts layout); nothing is written. */
export async function loadPluginCaFiles(opts: {
  dir: string;
  trustDomain: string;
  now?: number;
}): Promise<LoadedCa> {
  const material = await readMaterial(opts.dir);
  const ca = await loadCertificateAuthority(material, {
    trustDomain: opts.trustDomain,
    now: opts.now ?? Date.now(),
    crypto: globalThis.crypto,
  }).catch((err: unknown) => {
    if (err instanceof IdentityError) {
      throw new IdentityError(err.code, `plug-in CA in ${opts.dir}: ${err.message}`, {
        cause: err,
        user: true,
      });
    }
    throw err;
  });
  return { ca, source: "plug-in", created: false, dir: opts.dir };
}

/** Loads `$home/ca/`, generating a self-signed CA there on first start. */
export async function loadOrCreateCaFiles(opts: {
  home: string;
  trustDomain: string;
  now?: number;
}): Promise<LoadedCa> {
  const dir = join(opts.home, "ca");
  const now = opts.now ?? Date.now();
  await mkdir(dir, { recursive: true, mode: 0o700 });
  let created = false;
  if (!(await exists(join(dir, CA_FILES.caKey)))) {
    const { material, rootKeyPem } = await generateCaMaterial({
      trustDomain: opts.trustDomain,
      now,
      crypto: globalThis.crypto,
    });
    await writeAtomically(join(dir, CA_FILES.rootKey), rootKeyPem, 0o600);
    await writeAtomically(join(dir, CA_FILES.rootCert), material.rootCertPem, 0o644);
    await writeAtomically(join(dir, CA_FILES.certChain), material.certChainPem, 0o644);
    await writeAtomically(join(dir, CA_FILES.caCert), material.caCertPem, 0o644);
    // Written last: its presence marks a complete CA.
    await writeAtomically(join(dir, CA_FILES.caKey), material.caKeyPem, 0o600);
    created = true;
  }
  const loaded = await loadPluginCaFiles({ dir, trustDomain: opts.trustDomain, now });
  return { ...loaded, source: "self-signed", created };
}

/**
 * Rewrites CA files in `dir` during a root rotation (only those given). `root-cert.pem` goes first
 * (the trust bundle may only grow before the signer changes); `ca-cert.pem` and `ca-key.pem` are
 * staged and then renamed one right after the other, so a crash leaves at most a pair that does
 * not match, which loading refuses by name rather than signing with the wrong key.
 *
 * @example
 * ```ts
 * await writeCaFiles(dir, { rootCertPem: bothRootsPem, rootKeyPem, caCertPem, caKeyPem, certChainPem });
 * ```
 */
export async function writeCaFiles(
  dir: string,
  files: Partial<CaMaterial> & { rootKeyPem?: string },
): Promise<void> {
  if (files.rootCertPem !== undefined)
    await writeAtomically(join(dir, CA_FILES.rootCert), files.rootCertPem, 0o644);
  if (files.rootKeyPem !== undefined)
    await writeAtomically(join(dir, CA_FILES.rootKey), files.rootKeyPem, 0o600);
  if (files.certChainPem !== undefined)
    await writeAtomically(join(dir, CA_FILES.certChain), files.certChainPem, 0o644);
  if (files.caCertPem === undefined || files.caKeyPem === undefined) return;
  const certTemp = join(dir, `${CA_FILES.caCert}.${process.pid}.next`);
  const keyTemp = join(dir, `${CA_FILES.caKey}.${process.pid}.next`);
  await writeFile(certTemp, files.caCertPem, { mode: 0o644 });
  await writeFile(keyTemp, files.caKeyPem, { mode: 0o600 });
  await chmod(keyTemp, 0o600);
  await rename(certTemp, join(dir, CA_FILES.caCert));
  await rename(keyTemp, join(dir, CA_FILES.caKey));
}
