import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type ApiServerDouble, startApiServerDouble } from "../../test/k8s-apiserver/api-server.ts";
import { waitFor } from "../../test/support/wait-for.ts";
import { startKubernetesAdapter } from "./adapter.ts";
import { AdapterError } from "./errors.ts";
import { createKubeApi, loadKubeConfig } from "./kube-client.ts";

let api: ApiServerDouble;
let dir: string;

beforeAll(async () => {
  api = await startApiServerDouble({ token: "s3cret" });
  api.apply({ apiVersion: "v1", kind: "Namespace", metadata: { name: "default" } });
  api.apply({
    apiVersion: "v1",
    kind: "Service",
    metadata: { name: "ratings" },
    spec: { ports: [{ port: 9080 }] },
  });
  dir = await mkdtemp(join(tmpdir(), "jibe-kubeconfig-"));
});
afterAll(async () => {
  await api?.stop();
  await rm(dir, { recursive: true, force: true });
});

async function kubeconfig(token: string): Promise<string> {
  const file = join(dir, `config-${token}`);
  await writeFile(
    file,
    `apiVersion: v1
kind: Config
clusters:
- name: double
  cluster: { server: "${api.url}", insecure-skip-tls-verify: true } # the double speaks plain HTTP
users:
- name: adapter
  user: { token: ${token} }
contexts:
- name: double
  context: { cluster: double, user: adapter }
current-context: double
`,
  );
  return file;
}

describe("kube client", () => {
  it("loads a kubeconfig file and lists and watches with its credentials", async () => {
    const informer = createKubeApi(loadKubeConfig({ kubeconfig: await kubeconfig("s3cret") })).informer(
      "Service",
    );
    const names: string[] = [];
    informer.on("add", (o) => names.push(o.metadata?.name ?? ""));
    await informer.start();
    api.apply({
      apiVersion: "v1",
      kind: "Service",
      metadata: { name: "details" },
      spec: { ports: [{ port: 9080 }] },
    });
    await waitFor(() => names.length === 2, { what: "list then watch" });
    expect(names).toEqual(["ratings", "details"]);
    await informer.stop();
  });

  it("reports a refused credential through the informer's error callback", async () => {
    const informer = createKubeApi(loadKubeConfig({ kubeconfig: await kubeconfig("wrong") })).informer(
      "Service",
    );
    const errors: unknown[] = [];
    informer.on("error", (e) => errors.push(e));
    await informer.start();
    await waitFor(() => errors.length > 0, { what: "an error" });
    expect(errors[0]).toMatchObject({ code: 401 });
    await informer.stop();
  });

  it("refuses a cluster name that cannot be part of a workload name", async () => {
    const kube = createKubeApi(loadKubeConfig({ kubeconfig: await kubeconfig("s3cret") }));
    const mesh = {
      apply: async () => ({ dryRun: false, results: [], diagnostics: [] }),
      delete: async () => ({}) as never,
      list: async () => [],
    };
    await expect(startKubernetesAdapter({ kube, mesh, cluster: "East_1" })).rejects.toBeInstanceOf(
      AdapterError,
    );
  });
});
