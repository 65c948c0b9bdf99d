import { execFile } from "node:child_process";
import { mkdir, mkdtemp, readFile, rm, stat, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { isJibeError } from "../broker/errors.ts";
import { CA_FILES, loadOrCreateCaFiles, loadPluginCaFiles } from "./ca-files.ts";
import { createWorkloadCsr } from "./create-csr.ts";
import { readCsr } from "./read-csr.ts";
import { signWorkloadCertificate } from "./sign-workload-certificate.ts";
import { openssl } from "./test-openssl.ts";

const run = promisify(execFile);
let dir: string;

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), "jibe-ca-files-"));
});
afterAll(() => rm(dir, { recursive: true, force: true }));

async function issueLeaf(ca: Awaited<ReturnType<typeof loadPluginCaFiles>>["ca"]): Promise<string> {
  const { csrPem } = await createWorkloadCsr({ spiffeId: "spiffe://cluster.local/ns/default/sa/a", crypto });
  const csr = await readCsr(csrPem, crypto);
  if (!csr.ok) throw new Error(csr.message);
  const now = Date.now();
  const leaf = await signWorkloadCertificate({
    ca,
    spiffeId: csr.spiffeId,
    subjectPublicKeyInfo: csr.subjectPublicKeyInfo,
    notBefore: new Date(now),
    notAfter: new Date(now + 60_000),
    crypto,
  });
  return leaf.pem;
}

async function expectCaInvalid(promise: Promise<unknown>, message: RegExp): Promise<void> {
  const err = await promise.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(isJibeError(err) && err.code).toBe("ca-invalid");
  expect((err as Error).message).toMatch(message);
}

describe("self-signed CA under $JIBE_HOME/ca", () => {
  it("is created at first start with 0600 keys and loaded unchanged afterwards", async () => {
    const home = join(dir, "home");
    const first = await loadOrCreateCaFiles({ home, trustDomain: "cluster.local" });
    expect(first).toMatchObject({ created: true, source: "self-signed" });
    for (const key of [CA_FILES.caKey, CA_FILES.rootKey]) {
      expect((await stat(join(home, "ca", key))).mode & 0o777).toBe(0o600);
    }
    const second = await loadOrCreateCaFiles({ home, trustDomain: "cluster.local" });
    expect(second.created).toBe(false);
    expect(second.ca.rootsPem).toBe(first.ca.rootsPem);
    expect(second.ca.signingCert.serialNumber).toBe(first.ca.signingCert.serialNumber);
    const root = join(home, "ca", CA_FILES.rootCert);
    const chain = join(home, "ca", CA_FILES.certChain);
    expect((await openssl(["verify", "-CAfile", root, chain])).stdout).toContain("OK");
  });
});

describe("plug-in CA (cert, key, chain, root files)", () => {
  let plugin: string;
  beforeAll(async () => {
    // A user's own PKI, made with openssl: root → intermediate, SEC1 EC keys.
    plugin = join(dir, "cacerts");
    await mkdir(plugin);
    const at = (name: string) => join(plugin, name);
    await writeFile(
      at("ca.ext"),
      "basicConstraints=critical,CA:TRUE,pathlen:0\nkeyUsage=critical,keyCertSign,cRLSign\nsubjectKeyIdentifier=hash\nauthorityKeyIdentifier=keyid\n",
    );
    const sh = (args: string[]) => run("openssl", args, { cwd: plugin });
    await sh(["ecparam", "-name", "prime256v1", "-genkey", "-noout", "-out", "root-key.pem"]);
    await sh([
      "req",
      "-x509",
      "-new",
      "-key",
      "root-key.pem",
      "-subj",
      "/O=Example Corp/CN=Example Root",
      "-days",
      "30",
      "-out",
      "root-cert.pem",
    ]);
    await sh(["ecparam", "-name", "prime256v1", "-genkey", "-noout", "-out", "ca-key.pem"]);
    await sh([
      "req",
      "-new",
      "-key",
      "ca-key.pem",
      "-subj",
      "/O=Example Corp/CN=Mesh Intermediate",
      "-out",
      "ca.csr",
    ]);
    await sh([
      "x509",
      "-req",
      "-in",
      "ca.csr",
      "-CA",
      "root-cert.pem",
      "-CAkey",
      "root-key.pem",
      "-CAcreateserial",
      "-days",
      "10",
      "-extfile",
      "ca.ext",
      "-out",
      "ca-cert.pem",
    ]);
    await writeFile(
      at("cert-chain.pem"),
      (await readFile(at("ca-cert.pem"), "utf8")) + (await readFile(at("root-cert.pem"), "utf8")),
    );
  });

  it("signs workload certificates that chain to the user's root", async () => {
    const loaded = await loadPluginCaFiles({ dir: plugin, trustDomain: "cluster.local" });
    expect(loaded.source).toBe("plug-in");
    await writeFile(join(plugin, "leaf.pem"), await issueLeaf(loaded.ca));
    const out = await openssl([
      "verify",
      "-CAfile",
      join(plugin, "root-cert.pem"),
      "-untrusted",
      join(plugin, "ca-cert.pem"),
      join(plugin, "leaf.pem"),
    ]);
    expect(out.stdout).toContain("leaf.pem: OK");
  });

  it("refuses a chain that leads to a foreign root, and a key that is not the certificate's", async () => {
    const foreign = join(dir, "foreign");
    await mkdir(foreign);
    for (const name of ["ca-cert.pem", "ca-key.pem", "cert-chain.pem"]) {
      await writeFile(join(foreign, name), await readFile(join(plugin, name)));
    }
    const other = await loadOrCreateCaFiles({ home: join(dir, "other"), trustDomain: "cluster.local" });
    await writeFile(join(foreign, "root-cert.pem"), other.ca.rootsPem);
    await expectCaInvalid(
      loadPluginCaFiles({ dir: foreign, trustDomain: "cluster.local" }),
      /does not chain to root-cert\.pem/,
    );

    await writeFile(join(foreign, "root-cert.pem"), await readFile(join(plugin, "root-cert.pem")));
    await writeFile(join(foreign, "ca-key.pem"), await readFile(join(plugin, "root-key.pem")));
    await expectCaInvalid(
      loadPluginCaFiles({ dir: foreign, trustDomain: "cluster.local" }),
      /ca-key\.pem does not belong to ca-cert\.pem/,
    );

    await writeFile(join(foreign, "ca-key.pem"), await readFile(join(plugin, "ca-key.pem")));
    await writeFile(join(foreign, "ca-cert.pem"), await readFile(join(plugin, "root-cert.pem")));
    await expectCaInvalid(
      loadPluginCaFiles({ dir: foreign, trustDomain: "cluster.local" }),
      /ca-key\.pem does not belong/,
    );
  });
});
