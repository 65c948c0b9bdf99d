import { mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { request } from "node:https";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { silentLogger } from "../../broker/logger.ts";
import { installObjects } from "../../infra/k8s/install/render.ts";
import { PROFILES } from "../../infra/k8s/install/values.ts";
import { type ApiServerDouble, startApiServerDouble } from "../../test/k8s-apiserver/api-server.ts";
import type { KubeObject } from "../../test/k8s-apiserver/object-store.ts";
import { resourceType } from "../../test/k8s-apiserver/resource-types.ts";
import { useTestNats } from "../../test/support/nats.ts";
import { waitFor } from "../../test/support/wait-for.ts";
import { runStandaloneControlPlane } from "./standalone.ts";

const nats = useTestNats();
let api: ApiServerDouble;
let scratch: string;
let stop: () => Promise<void>;
let webhookPort: number;
let adminUrl: string;

async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as { port: number };
  await new Promise((resolve) => server.close(resolve));
  return port;
}

function caBundle(): string {
  const mwc = api.store.get(resourceType("MutatingWebhookConfiguration"), "", "jibe-sidecar-injector") as
    | { webhooks: { clientConfig: { caBundle?: string } }[] }
    | undefined;
  return Buffer.from(mwc?.webhooks[0]?.clientConfig.caBundle ?? "", "base64").toString("utf8");
}

/** What the API server does: POST the AdmissionReview, trusting only the caBundle. */
function admit(namespace: string): Promise<{ allowed: boolean; patch?: string }> {
  const body = JSON.stringify({
    apiVersion: "admission.k8s.io/v1",
    kind: "AdmissionReview",
    request: {
      uid: "1",
      kind: { group: "", version: "v1", kind: "Pod" },
      namespace,
      operation: "CREATE",
      object: { metadata: { name: "web" }, spec: { containers: [{ name: "web", image: "nginx" }] } },
    },
  });
  return new Promise((resolve, reject) => {
    const req = request(
      {
        host: "127.0.0.1",
        port: webhookPort,
        path: "/inject",
        method: "POST",
        ca: caBundle(),
        servername: "localhost",
      },
      (res) => {
        let text = "";
        res.on("data", (chunk: Buffer) => {
          text += chunk.toString();
        });
        res.on("end", () =>
          resolve((JSON.parse(text) as { response: { allowed: boolean; patch?: string } }).response),
        );
      },
    );
    req.on("error", reject);
    req.end(body);
  });
}

beforeAll(async () => {
  api = await startApiServerDouble({ version: "v1.30.1" });
  for (const object of installObjects(PROFILES.default)) api.apply(object as KubeObject);
  api.apply({
    apiVersion: "v1",
    kind: "Namespace",
    metadata: { name: "shop", labels: { "jibe-injection": "enabled" } },
  });
  api.apply({ apiVersion: "v1", kind: "Namespace", metadata: { name: "plain" } });
  api.apply({
    apiVersion: "v1",
    kind: "Service",
    metadata: { name: "web", namespace: "shop" },
    spec: { selector: { app: "web" }, ports: [{ name: "http", port: 80 }] },
  });
  scratch = await mkdtemp(join(tmpdir(), "jibe-cp-kube-"));
  const kubeconfig = join(scratch, "kubeconfig");
  await writeFile(
    kubeconfig,
    `apiVersion: v1
kind: Config
clusters: [{ name: double, cluster: { server: "${api.url}", insecure-skip-tls-verify: true } }]
users: [{ name: cp, user: {} }]
contexts: [{ name: double, context: { cluster: double, user: cp } }]
current-context: double
`,
  );
  webhookPort = await freePort();
  adminUrl = `http://127.0.0.1:${await freePort()}`;
  stop = await runStandaloneControlPlane(
    {
      JIBE_NATS_URL: nats().url,
      JIBE_HOME: join(scratch, "home"),
      JIBE_ADMIN_URL: adminUrl,
      KUBECONFIG: kubeconfig,
      JIBE_K8S_CLUSTER: "east",
      JIBE_INJECTOR: "true",
      JIBE_INJECTOR_LISTEN: `127.0.0.1:${webhookPort}`,
      JIBE_PROXY_IMAGE: "ghcr.io/jibe-mesh/jibe:0.1.0",
    },
    silentLogger,
  );
});

afterAll(async () => {
  await stop?.();
  await api?.stop();
  if (scratch) await rm(scratch, { recursive: true, force: true });
});

describe("the control plane process on Kubernetes", () => {
  it("serves the injection webhook over HTTPS and registers its certificate as the caBundle", async () => {
    expect(caBundle()).toMatch(/^-----BEGIN CERTIFICATE-----/);
    const injected = await admit("shop");
    expect(injected.allowed).toBe(true);
    const patch = JSON.parse(Buffer.from(injected.patch ?? "", "base64").toString()) as {
      path: string;
      value?: unknown;
    }[];
    expect(JSON.stringify(patch)).toContain("jibe-proxy");
    expect(JSON.stringify(patch)).toContain("ghcr.io/jibe-mesh/jibe:0.1.0");
    const plain = await admit("plain");
    expect(plain).toMatchObject({ allowed: true });
    expect(plain.patch).toBeUndefined();
  });

  it("follows namespace labels from the adapter's cache, and mirrors the cluster into the mesh", async () => {
    api.apply({
      apiVersion: "v1",
      kind: "Namespace",
      metadata: { name: "plain", labels: { "istio-injection": "enabled" } },
    });
    await waitFor(async () => (await admit("plain")).patch !== undefined, { what: "plain injected" });
    const token = (await readFile(join(scratch, "home", "admin-token"), "utf8")).trim();
    const { items } = (await (
      await fetch(`${adminUrl}/api/v1/resources?kind=Service`, {
        headers: { authorization: `Bearer ${token}` },
      })
    ).json()) as { items: { ref: { name: string } }[] };
    expect(items.map((s) => s.ref.name)).toContain("web");
  });
});
