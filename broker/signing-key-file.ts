import { chmod, mkdir, readFile, rename, writeFile } from "node:fs/promises";
import { join } from "node:path";
import type { JWK } from "jose";
import { createSigner, generateSigningKey, publicJwk, type Signer, thumbprintKid } from "./envelope.ts";
import { BrokerError } from "./errors.ts";

/**
 * Node adapter: the control plane's signing key on disk. `$JIBE_HOME/signing-key.jwk` holds the
 * private JWK (mode 0600); `$JIBE_HOME/trust.jwks.json` holds the public keys proxies and tools
 * trust. The trust file may list older keys too (rotation): the current key is added, never
 * removed.
 *
 * @example
 * ```ts
 * const { signer, trustJwks } = await loadOrCreateSigningKey(process.env.JIBE_HOME ?? `${homedir()}/.jibe`);
 * const verifier = await createVerifier(await loadTrustJwks(process.env.JIBE_TRUST_JWKS ?? trustFile));
 * ```
 */
export const SIGNING_KEY_FILE = "signing-key.jwk";
export const TRUST_JWKS_FILE = "trust.jwks.json";

export interface SigningKeyFiles {
  signer: Signer;
  trustJwks: { keys: JWK[] };
  privateJwk: JWK;
}

/** Loads the signing key from `home`, generating and saving one on first use. */
export async function loadOrCreateSigningKey(home: string): Promise<SigningKeyFiles> {
  await mkdir(home, { recursive: true, mode: 0o700 });
  const keyPath = join(home, SIGNING_KEY_FILE);
  const trustPath = join(home, TRUST_JWKS_FILE);

  let privateJwk = await readJson<JWK>(keyPath, "signing-key-invalid");
  if (!privateJwk) {
    privateJwk = (await generateSigningKey()).privateJwk;
    await writeAtomically(keyPath, `${JSON.stringify(privateJwk, null, 2)}\n`, 0o600);
  }
  privateJwk.kid ??= await thumbprintKid(privateJwk);
  const signer = await createSigner(privateJwk);

  const existing = await readJson<{ keys?: unknown }>(trustPath, "trust-jwks-invalid");
  const keys = Array.isArray(existing?.keys) ? (existing.keys as JWK[]) : [];
  const trustJwks = { keys };
  if (!keys.some((key) => key.kid === signer.kid)) {
    trustJwks.keys = [...keys, publicJwk(privateJwk)];
    await writeAtomically(trustPath, `${JSON.stringify(trustJwks, null, 2)}\n`, 0o644);
  }
  return { signer, trustJwks, privateJwk };
}

/**
 * Reads a trusted JWKS from inline JSON (`{"keys": [...]}`) or from a file path, as
 * `JIBE_TRUST_JWKS` allows either.
 */
export async function loadTrustJwks(valueOrPath: string): Promise<{ keys: JWK[] }> {
  const text = valueOrPath.trim();
  const source = text.startsWith("{") ? "JIBE_TRUST_JWKS (inline JSON)" : text;
  let parsed: unknown;
  try {
    parsed = JSON.parse(text.startsWith("{") ? text : await readFile(text, "utf8"));
  } catch (err) {
    throw new BrokerError(
      "trust-jwks-invalid",
      `${source}: cannot read a JWKS (${err instanceof Error ? err.message : String(err)}); ` +
        'give {"keys": [...]} inline or the path of trust.jwks.json',
      { cause: err, user: true },
    );
  }
  const keys = (parsed as { keys?: unknown } | null)?.keys;
  if (!Array.isArray(keys) || keys.length === 0 || !keys.every((k) => typeof k === "object" && k !== null)) {
    throw new BrokerError(
      "trust-jwks-invalid",
      `${source}: expected {"keys": [ ...at least one public JWK... ]}`,
      {
        user: true,
      },
    );
  }
  return { keys: keys as JWK[] };
}

async function readJson<T>(
  path: string,
  code: "signing-key-invalid" | "trust-jwks-invalid",
): Promise<T | undefined> {
  let text: string;
  try {
    text = await readFile(path, "utf8");
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === "ENOENT") return undefined;
    throw new BrokerError(code, `${path}: cannot read (${(err as Error).message})`, {
      cause: err,
      user: true,
    });
  }
  try {
    return JSON.parse(text) as T;
  } catch (err) {
    throw new BrokerError(code, `${path}: not valid JSON; fix or delete the file`, {
      cause: err,
      user: true,
    });
  }
}

async function writeAtomically(path: string, text: string, mode: number): Promise<void> {
  const temp = `${path}.${process.pid}.tmp`;
  await writeFile(temp, text, { mode });
  await chmod(temp, mode);
  await rename(temp, path);
}
