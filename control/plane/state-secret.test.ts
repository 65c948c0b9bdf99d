import { mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { silentLogger } from "../../broker/logger.ts";
import { type ApiServerDouble, startApiServerDouble } from "../../test/k8s-apiserver/api-server.ts";
import { resourceType } from "../../test/k8s-apiserver/resource-types.ts";
import { kubeConfigFor } from "../k8s-adapter/test-cluster.ts";
import { kubeStateSecret, restoreControlPlaneState, saveCaFilesToSecret } from "./state-secret.ts";

let api: ApiServerDouble;
let scratch: string;

beforeAll(async () => {
  api = await startApiServerDouble({ token: "cp" });
  scratch = await mkdtemp(join(tmpdir(), "jibe-state-"));
});

afterAll(async () => {
  await api?.stop();
  if (scratch) await rm(scratch, { recursive: true, force: true });
});

/** The private scalar of the signing key a home holds. */
const signingKey = async (home: string) =>
  (JSON.parse(await readFile(join(scratch, home, "signing-key.jwk"), "utf8")) as { d: string }).d;

function restore(name: string, home: string, webhook = true) {
  return restoreControlPlaneState({
    secret: kubeStateSecret(kubeConfigFor(api, "cp"), "jibe-system", name),
    home: join(scratch, home),
    ...(webhook ? { webhookDnsNames: ["jibe-control-plane.jibe-system.svc"] } : {}),
    log: silentLogger,
  });
}

describe("the control plane's state Secret", () => {
  it("gives two control planes starting at once one signing key and one webhook certificate", async () => {
    const [a, b] = await Promise.all([restore("race", "a"), restore("race", "b")]);
    expect(await signingKey("a")).toBe(await signingKey("b"));
    expect(a.webhookTls?.certPem).toMatch(/^-----BEGIN CERTIFICATE-----/);
    expect(a.webhookTls).toEqual(b.webhookTls);
    const later = await restore("race", "c");
    expect(await signingKey("c")).toBe(await signingKey("a"));
    expect(later.webhookTls).toEqual(a.webhookTls);
  });

  it("completes a Secret written without the webhook entries, keeping its signing key", async () => {
    await restore("grows", "d", false);
    const secret = () =>
      api.store.get(resourceType("Secret"), "jibe-system", "grows") as
        | { data: Record<string, string> }
        | undefined;
    expect(Object.keys(secret()?.data ?? {})).not.toContain("webhook-cert.pem");
    const { webhookTls } = await restore("grows", "e");
    expect(await signingKey("e")).toBe(await signingKey("d"));
    expect(Buffer.from(secret()?.data["webhook-cert.pem"] ?? "", "base64").toString()).toBe(
      webhookTls?.certPem,
    );
  });

  it("keeps a rotated mesh CA: files saved after a rotation step come back on the next start", async () => {
    const secret = kubeStateSecret(kubeConfigFor(api, "cp"), "jibe-system", "rotated");
    const meshCa = { trustDomain: "cluster.local" };
    await restoreControlPlaneState({ secret, home: join(scratch, "r1"), meshCa, log: silentLogger });
    const firstRoot = await readFile(join(scratch, "r1", "ca", "root-cert.pem"), "utf8");
    // A rotation step rewrote the trust bundle (both roots) in this home: save it as the hook does.
    const bothRoots = `${firstRoot}${firstRoot}`;
    await writeFile(join(scratch, "r1", "ca", "root-cert.pem"), bothRoots);
    await saveCaFilesToSecret(secret, join(scratch, "r1"));
    await restoreControlPlaneState({ secret, home: join(scratch, "r2"), meshCa, log: silentLogger });
    expect(await readFile(join(scratch, "r2", "ca", "root-cert.pem"), "utf8")).toBe(bothRoots);
    expect(await readFile(join(scratch, "r2", "ca", "ca-key.pem"), "utf8")).toBe(
      await readFile(join(scratch, "r1", "ca", "ca-key.pem"), "utf8"),
    );
  });
});
