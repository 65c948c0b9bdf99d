import { readFileSync } from "node:fs";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { parseAllDocuments } from "yaml";
import { ISTIO_KINDS } from "../../../infra/k8s/crds/istio-crds.ts";
import { type ApiServerDouble, startApiServerDouble } from "../../../test/k8s-apiserver/api-server.ts";
import { resourceType } from "../../../test/k8s-apiserver/resource-types.ts";
import { runCli } from "../run-cli.ts";

let api: ApiServerDouble;
let scratch: string;
let kubeconfig: string;
const TOKEN = "install-test-token";

async function jibe(args: string[], env: Record<string, string> = { KUBECONFIG: kubeconfig }) {
  let stdout = "";
  let stderr = "";
  const code = await runCli(args, {
    env: { HOME: scratch, ...env },
    stdout: { write: (s: string) => (stdout += s) },
    stderr: { write: (s: string) => (stderr += s) },
    readStdin: async () => "",
  });
  return { code, stdout, stderr };
}

const count = (kind: string) => api.store.list(resourceType(kind)).length;

beforeAll(async () => {
  api = await startApiServerDouble({ token: TOKEN, version: "v1.30.2" });
  scratch = await mkdtemp(join(tmpdir(), "jibe-install-"));
  kubeconfig = join(scratch, "kubeconfig");
  await writeFile(
    kubeconfig,
    [
      "apiVersion: v1",
      "kind: Config",
      `clusters: [{ name: double, cluster: { server: "${api.url}", insecure-skip-tls-verify: true } }]`,
      `users: [{ name: admin, user: { token: ${TOKEN} } }]`,
      "contexts: [{ name: double, context: { cluster: double, user: admin } }]",
      "current-context: double",
      "",
    ].join("\n"),
  );
});

afterAll(async () => {
  await api.stop();
  await rm(scratch, { recursive: true, force: true });
});

describe("jibe install / uninstall / manifest generate", () => {
  it("prints the manifests of a profile without touching a cluster", async () => {
    const generated = await jibe(["manifest", "generate", "--profile", "demo"], {});
    expect(generated.code).toBe(0);
    const objects = parseAllDocuments(generated.stdout).map(
      (d) => d.toJS() as { kind: string; spec?: { replicas?: number } },
    );
    expect(objects.find((o) => o.kind === "StatefulSet")?.spec?.replicas).toBe(1);
    expect((await jibe(["install", "--dry-run", "--profile", "minimal"], {})).stdout).not.toContain(
      "MutatingWebhookConfiguration",
    );
  });

  it("says clearly when there is no kubeconfig", async () => {
    const none = await jibe(["install"], {});
    expect(none.code).toBe(1);
    expect(none.stderr).toMatch(/error: no kubeconfig found: set KUBECONFIG, pass --kubeconfig FILE/);
    const missing = await jibe(["install", "--kubeconfig", join(scratch, "nope")], {});
    expect(missing.stderr).toMatch(/--kubeconfig .*nope: no such file/);
    const badName = await jibe(["manifest", "generate", "--cluster-name", "East_1"], {});
    expect(badName.stderr).toMatch(/--cluster-name "East_1" must be a DNS-1123 label/);
  });

  it("says clearly when the API server does not answer", async () => {
    const closed = join(scratch, "closed-kubeconfig");
    await writeFile(closed, readFileSync(kubeconfig, "utf8").replace(api.url, "http://127.0.0.1:1"));
    const down = await jibe(["install", "--kubeconfig", closed]);
    expect(down.code).toBe(1);
    expect(down.stderr).toMatch(
      /error: cannot reach the Kubernetes API server at http:\/\/127.0.0.1:1 \(ECONNREFUSED\)/,
    );
  });

  it("refuses, before changing anything, a cluster with another mesh's CRDs or too old a server", async () => {
    api.apply({
      apiVersion: "apiextensions.k8s.io/v1",
      kind: "CustomResourceDefinition",
      metadata: {
        name: "virtualservices.networking.istio.io",
        labels: { app: "istio-pilot", release: "istio" },
      },
      spec: { group: "networking.istio.io", versions: [{ name: "v1beta1", served: true, storage: true }] },
    });
    const before = api.store.revision;
    const refused = await jibe(["install"]);
    expect(refused.code).toBe(1);
    expect(refused.stderr).toMatch(
      /error: \[crd-conflict\] CustomResourceDefinition virtualservices.networking.istio.io already exists and is not Jibe's \(labels app=istio-pilot, release=istio; serves v1beta1, not v1, v1alpha3\)/,
    );
    expect(refused.stderr).toMatch(/install stopped before changing anything/);
    expect(api.store.revision).toBe(before);
    const kept = await jibe(["install", "--skip-crds"]);
    expect(kept.stderr).toMatch(
      /\[crd-missing\] CustomResourceDefinition virtualservices.networking.istio.io \(kept by --skip-crds\) does not serve v1, v1alpha3/,
    );
    expect(kept.stderr).toMatch(
      /\[crd-missing\] CustomResourceDefinition destinationrules.networking.istio.io does not exist/,
    );
    expect(api.store.revision).toBe(before);
    api.remove(
      "apiextensions.k8s.io/v1",
      "CustomResourceDefinition",
      "",
      "virtualservices.networking.istio.io",
    );

    const old = await startApiServerDouble({ token: TOKEN, version: "v1.24.0" });
    try {
      const config = join(scratch, "old-kubeconfig");
      await writeFile(config, readFileSync(kubeconfig, "utf8").replace(api.url, old.url));
      const tooOld = await jibe(["install", "--kubeconfig", config]);
      expect(tooOld.stderr).toMatch(/\[server-too-old\] Kubernetes v1.24.0 is older than 1.27/);
      expect(old.store.revision).toBe(0);
    } finally {
      await old.stop();
    }
  });

  it("installs every object, is idempotent, and uninstalls what it created (CRDs only with --purge)", async () => {
    api.apply({ apiVersion: "v1", kind: "Namespace", metadata: { name: "shop" } });
    const first = await jibe(["install", "--cluster-name", "east"]);
    expect(first.stderr).toContain("[webhook-reachability]");
    expect(first.code).toBe(0);
    expect(first.stdout).toMatch(/^statefulset\/jibe-nats created$/m);
    expect(first.stdout).toMatch(/^mutatingwebhookconfiguration\/jibe-sidecar-injector created$/m);
    expect(count("CustomResourceDefinition")).toBe(ISTIO_KINDS.length);
    expect(api.store.get(resourceType("StatefulSet"), "jibe-system", "jibe-nats")?.spec).toMatchObject({
      replicas: 3,
    });
    const deployment = api.store.get(resourceType("Deployment"), "jibe-system", "jibe-control-plane") as
      | { spec: { template: { spec: { containers: { env: { name: string; value: string }[] }[] } } } }
      | undefined;
    const env = deployment?.spec.template.spec.containers[0]?.env;
    expect(env).toContainEqual({ name: "JIBE_K8S_CLUSTER", value: "east" });

    const revision = api.store.revision;
    const again = await jibe(["install", "--cluster-name", "east"]);
    expect(again.code).toBe(0);
    expect(again.stdout).not.toMatch(/ (created|configured)$/m);
    expect(api.store.revision).toBe(revision);

    const demo = await jibe(["install", "--profile", "demo", "--cluster-name", "east"]);
    expect(demo.stdout).toMatch(/^statefulset\/jibe-nats configured$/m);
    expect(api.store.get(resourceType("StatefulSet"), "jibe-system", "jibe-nats")?.spec).toMatchObject({
      replicas: 1,
    });

    const minimal = await jibe(["install", "--profile", "minimal", "--cluster-name", "east"]);
    expect(minimal.stdout).toMatch(/^mutatingwebhookconfiguration\/jibe-sidecar-injector pruned$/m);
    expect(minimal.stdout).toMatch(/^clusterrole\/jibe-injector pruned$/m);
    expect(count("MutatingWebhookConfiguration")).toBe(0);
    expect(count("CustomResourceDefinition")).toBe(ISTIO_KINDS.length);

    const removed = await jibe(["uninstall"]);
    expect(removed.code).toBe(0);
    expect(removed.stdout).toMatch(/^deployment\/jibe-control-plane deleted$/m);
    expect(count("StatefulSet") + count("Deployment") + count("MutatingWebhookConfiguration")).toBe(0);
    expect(api.store.get(resourceType("Namespace"), "", "jibe-system")).toBeUndefined();
    expect(api.store.get(resourceType("Namespace"), "", "shop")).toBeDefined();
    expect(count("CustomResourceDefinition")).toBe(ISTIO_KINDS.length);
    await jibe(["uninstall", "--purge"]);
    expect(count("CustomResourceDefinition")).toBe(0);
  });
});
