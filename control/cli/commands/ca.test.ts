import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { NatsConnection } from "@nats-io/nats-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createVerifier } from "../../../broker/envelope.ts";
import { connectNats } from "../../../broker/nats-connection.ts";
import { loadOrCreateSigningKey } from "../../../broker/signing-key-file.ts";
import type { CaStatus } from "../../../identity/ca-admin.ts";
import { createWorkloadCsr } from "../../../identity/create-csr.ts";
import { createJoinToken } from "../../../identity/join-token.ts";
import { splitPem } from "../../../identity/pem.ts";
import { requestCertificate } from "../../../identity/request-certificate.ts";
import { type TrustBundleWatch, watchTrustBundle } from "../../../identity/trust-bundle-store.ts";
import { verifyWorkloadCertificate } from "../../../identity/verify-workload-certificate.ts";
import { useTestNats } from "../../../test/support/nats.ts";
import { waitFor } from "../../../test/support/wait-for.ts";
import { type RunningControlPlane, startControlPlane } from "../../plane/start.ts";
import { runCli } from "../run-cli.ts";

/**
 * `jibe ca status | rotate | rotate --finish` against the real control plane with its mesh CA on a
 * real nats-server: what workloads get from the bus (certificates, the trust bundle) at each step of
 * a root rotation, and across restarts of the control plane.
 */

const nats = useTestNats();
let home: string;
let nc: NatsConnection;
let cp: RunningControlPlane;
let bundle: TrustBundleWatch;

/** Where each rotation step wrote the CA (the hook a Kubernetes Secret copy hangs on). */
const written: string[] = [];
const start = () =>
  startControlPlane({
    nc,
    home,
    admin: { host: "127.0.0.1", port: 0 },
    identity: { onCaFilesWritten: async (dir) => void written.push(dir) },
  });

async function jibe(...args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  let stdout = "";
  let stderr = "";
  const code = await runCli(args, {
    env: { JIBE_ADMIN_URL: cp.adminUrl, JIBE_TOKEN: cp.token, JIBE_HOME: home },
    stdout: { write: (text: string) => (stdout += text) },
    stderr: { write: (text: string) => (stderr += text) },
    readStdin: async () => "",
  });
  return { code, stdout, stderr };
}

async function status(): Promise<CaStatus> {
  const run = await jibe("ca", "status", "-o", "json");
  expect(run.code).toBe(0);
  return JSON.parse(run.stdout) as CaStatus;
}

/** A workload certificate for reviews, by join token, as a sidecar gets it. */
async function issue() {
  const { signer } = await loadOrCreateSigningKey(home);
  const grant = { trustDomain: "cluster.local", namespace: "default", serviceAccount: "reviews" };
  const token = await createJoinToken(signer, grant, { now: Date.now() });
  const { csrPem } = await createWorkloadCsr({
    spiffeId: "spiffe://cluster.local/ns/default/sa/reviews",
    crypto,
  });
  const reply = await requestCertificate(nc, {
    v: 1,
    csr: csrPem,
    credential: { type: "join-token", token },
  });
  if (!reply.ok) throw new Error(`${reply.code}: ${reply.message}`);
  return reply;
}

const pemCount = (pem: string) => splitPem(pem).filter((b) => b.label === "CERTIFICATE").length;
const trusts = async (chainPem: string, rootsPem: string) =>
  (
    await verifyWorkloadCertificate({
      chainPem,
      rootsPem,
      trustDomain: "cluster.local",
      now: Date.now(),
      crypto,
    })
  ).ok;

beforeAll(async () => {
  home = await mkdtemp(join(tmpdir(), "jibe-ca-rotate-"));
  nc = await connectNats(nats().url);
  cp = await start();
  bundle = await watchTrustBundle(nc, await createVerifier(cp.trustJwks), { onBundle: () => {} });
});

afterAll(async () => {
  bundle?.stop();
  await cp?.stop();
  await nc?.close();
  if (home) await rm(home, { recursive: true, force: true });
});

describe("jibe ca: root rotation with overlap, for operators", () => {
  it("rotates the root: both roots trusted, new certificates from the new root; --finish keeps only the new root, across restarts", async () => {
    const before = await issue();
    const oldRootPem = before.rootsPem;
    expect((await status()).roots).toHaveLength(1);
    expect((await jibe("ca", "status")).stdout).toContain("no rotation under way");

    const rotated = await jibe("ca", "rotate", "--settle", "0s");
    expect(rotated.stderr).toBe("");
    expect(rotated.code).toBe(0);
    expect(rotated.stdout).toContain("rotation under way");
    expect(written).toEqual([join(home, "ca"), join(home, "ca")]);

    // The bundle on the bus trusts both roots; a new certificate chains to the new root only.
    const overlap = await waitFor(
      () => (bundle.current && pemCount(bundle.current.rootsPem) === 2 ? bundle.current : undefined),
      {
        what: "a trust bundle with two roots",
      },
    );
    const during = await issue();
    expect(during.rootsPem).toBe(overlap.rootsPem);
    expect(await trusts(during.certChainPem, oldRootPem)).toBe(false);
    expect(await trusts(during.certChainPem, overlap.rootsPem)).toBe(true);
    expect(await trusts(before.certChainPem, overlap.rootsPem)).toBe(true);
    const listed = await status();
    expect(listed.phase).toBe("overlap");
    expect(listed.roots.map((r) => r.signing).sort()).toEqual([false, true]);

    // A second rotation must wait for the first to finish.
    const again = await jibe("ca", "rotate", "--settle", "0s");
    expect(again.code).toBe(1);
    expect(again.stderr).toContain("finish it first");

    // A restart in the middle resumes the overlap from $JIBE_HOME/ca: the new intermediate signs.
    await cp.stop();
    cp = await start();
    expect((await status()).phase).toBe("overlap");
    expect(await trusts((await issue()).certChainPem, oldRootPem)).toBe(false);

    const finished = await jibe("ca", "rotate", "--finish");
    expect(finished.code).toBe(0);
    expect(written).toHaveLength(3);
    const after = await waitFor(
      () => (bundle.current && pemCount(bundle.current.rootsPem) === 1 ? bundle.current : undefined),
      {
        what: "a trust bundle with one root",
      },
    );
    expect(after.rootsPem).not.toBe(oldRootPem);
    expect(await trusts(during.certChainPem, after.rootsPem)).toBe(true);
    expect(await trusts(before.certChainPem, after.rootsPem)).toBe(false);

    await cp.stop();
    cp = await start();
    const restarted = await status();
    expect(restarted.phase).toBe("steady");
    expect(restarted.roots).toHaveLength(1);
    expect(restarted.roots[0]?.signing).toBe(true);
    const later = await issue();
    expect(later.rootsPem).toBe(after.rootsPem);
    expect(await trusts(later.certChainPem, after.rootsPem)).toBe(true);
  });

  it("says what to do instead of finishing a rotation that is not under way", async () => {
    const run = await jibe("ca", "rotate", "--finish");
    expect(run.code).toBe(1);
    expect(run.stderr).toContain("no root rotation is under way; start one with `jibe ca rotate`");
  });

  it("shows every trusted root with subject, serial and not-after", async () => {
    const { stdout, code } = await jibe("ca", "status");
    expect(code).toBe(0);
    const { roots } = await status();
    for (const root of roots) {
      expect(stdout).toContain(root.serial);
      expect(stdout).toContain(root.subject);
      expect(stdout).toContain(root.notAfter);
    }
  });
});
