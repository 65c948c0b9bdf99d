import { mkdtemp, readFile, rm, stat, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { virtualService } from "../test/support/mesh-writer.ts";
import { createVerifier, generateSigningKey, openStoredResource, signStoredResource } from "./envelope.ts";
import {
  loadOrCreateSigningKey,
  loadTrustJwks,
  SIGNING_KEY_FILE,
  TRUST_JWKS_FILE,
} from "./signing-key-file.ts";

let home: string;
beforeEach(async () => {
  home = join(await mkdtemp(join(tmpdir(), "jibe-key-test-")), "home");
});
afterEach(async () => {
  await rm(join(home, ".."), { recursive: true, force: true });
});

describe("signing key files", () => {
  it("creates a key on first use, private to its owner, and trusts it", async () => {
    const { signer, trustJwks, privateJwk } = await loadOrCreateSigningKey(home);
    expect((await stat(join(home, SIGNING_KEY_FILE))).mode & 0o777).toBe(0o600);
    expect(privateJwk.kid).toBe(signer.kid);
    const onDisk = JSON.parse(await readFile(join(home, TRUST_JWKS_FILE), "utf8"));
    expect(onDisk).toEqual(trustJwks);
    expect(JSON.stringify(onDisk)).not.toContain('"d"');

    const verifier = await createVerifier(await loadTrustJwks(join(home, TRUST_JWKS_FILE)));
    const jws = await signStoredResource(signer, virtualService("reviews"), Date.now());
    expect((await openStoredResource(verifier, jws)).ok).toBe(true);
  });

  it("loads the same key on later runs", async () => {
    const first = await loadOrCreateSigningKey(home);
    const second = await loadOrCreateSigningKey(home);
    expect(second.signer.kid).toBe(first.signer.kid);
    expect(second.trustJwks.keys).toHaveLength(1);
  });

  it("adds the current key to an existing trust file without dropping older keys", async () => {
    const older = await generateSigningKey();
    await loadOrCreateSigningKey(home); // creates the directory
    await writeFile(join(home, TRUST_JWKS_FILE), JSON.stringify(older.publicJwks));
    const { trustJwks, signer } = await loadOrCreateSigningKey(home);
    expect(trustJwks.keys.map((k) => k.kid)).toEqual([older.privateJwk.kid, signer.kid]);
  });

  it("explains a corrupt key file instead of replacing it", async () => {
    await loadOrCreateSigningKey(home);
    await writeFile(join(home, SIGNING_KEY_FILE), "{not json");
    await expect(loadOrCreateSigningKey(home)).rejects.toMatchObject({
      code: "signing-key-invalid",
      user: true,
    });
  });

  it("reads a trusted JWKS inline or from a file, and names what is wrong", async () => {
    const { publicJwks } = await generateSigningKey();
    expect(await loadTrustJwks(JSON.stringify(publicJwks))).toEqual(publicJwks);
    await loadOrCreateSigningKey(home);
    const path = join(home, "other.jwks.json");
    await writeFile(path, JSON.stringify(publicJwks));
    expect(await loadTrustJwks(path)).toEqual(publicJwks);
    await expect(loadTrustJwks('{"keys": []}')).rejects.toMatchObject({ code: "trust-jwks-invalid" });
    await expect(loadTrustJwks(join(home, "missing.json"))).rejects.toMatchObject({
      code: "trust-jwks-invalid",
      message: expect.stringContaining("missing.json"),
    });
  });
});
