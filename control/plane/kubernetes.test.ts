import { mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { request } from "node:https";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { silentLogger } from "../../broker/logger.ts";
import { STATE_SECRET } from "../../infra/k8s/install/install-objects.ts";
import { installObjects } from "../../infra/k8s/install/render.ts";
import { MESH_NAMESPACE, PROFILES } from "../../infra/k8s/install/values.ts";
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
let env: (home: string) => Record<string, string>;

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
  env = (home) => ({
    JIBE_NATS_URL: nats().url,
    JIBE_HOME: join(scratch, home),
    JIBE_ADMIN_URL: adminUrl,
    KUBECONFIG: kubeconfig,
    JIBE_K8S_CLUSTER: "east",
    JIBE_INJECTOR: "true",
    JIBE_INJECTOR_LISTEN: `127.0.0.1:${webhookPort}`,
    JIBE_PROXY_IMAGE: "ghcr.io/jibe-mesh/jibe:0.1.0",
    JIBE_STATE_SECRET: STATE_SECRET,
    JIBE_NAMESPACE: MESH_NAMESPACE,
  });
  stop = await runStandaloneControlPlane(env("home"), silentLogger);
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
    // The proxy verifies what this control plane signs, and reaches its bus.
    const trustJwks = JSON.parse(await readFile(join(scratch, "home", "trust.jwks.json"), "utf8"));
    expect(JSON.stringify(patch)).toContain(
      JSON.stringify({ name: "JIBE_TRUST_JWKS", value: JSON.stringify(trustJwks) }),
    );
    expect(JSON.stringify(patch)).toContain(JSON.stringify({ name: "JIBE_NATS_URL", value: nats().url }));
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

  it("keeps its signing key, admin token, mesh CA and webhook certificate in a Secret across a restart", async () => {
    const read = (home: string, file: string) => readFile(join(scratch, home, file), "utf8");
    const kids = async (home: string) =>
      (JSON.parse(await read(home, "trust.jwks.json")) as { keys: { kid: string }[] }).keys.map((k) => k.kid);
    const secret = api.store.get(resourceType("Secret"), MESH_NAMESPACE, STATE_SECRET) as
      | { data: Record<string, string>; metadata: { labels?: Record<string, string> } }
      | undefined;
    expect(Object.keys(secret?.data ?? {}).sort()).toEqual([
      "admin-token",
      "ca.ca-cert.pem",
      "ca.ca-key.pem",
      "ca.cert-chain.pem",
      "ca.root-cert.pem",
      "ca.root-key.pem",
      "signing-key.jwk",
      "trust.jwks.json",
      "webhook-cert.pem",
      "webhook-key.pem",
    ]);
    expect(secret?.metadata.labels?.["app.kubernetes.io/part-of"]).toBe("jibe");
    const before = {
      kids: await kids("home"),
      token: await read("home", "admin-token"),
      caBundle: caBundle(),
      meshRoot: await read("home", "ca/root-cert.pem"),
    };
    const secretWrites = () => api.requests.writes.filter((w) => w.includes("/secrets")).length;
    const writes = secretWrites();

    // A restarted Pod: same Secret, empty JIBE_HOME (an emptyDir is new with the Pod).
    await stop();
    stop = await runStandaloneControlPlane(env("home-after-restart"), silentLogger);
    expect(await kids("home-after-restart")).toEqual(before.kids);
    expect(await read("home-after-restart", "admin-token")).toBe(before.token);
    expect(caBundle()).toBe(before.caBundle);
    expect(await read("home-after-restart", "ca/root-cert.pem")).toBe(before.meshRoot);
    expect(secretWrites()).toBe(writes);
    // The API server's trust (the unchanged caBundle) still verifies the restarted webhook.
    expect((await admit("shop")).allowed).toBe(true);
  });
});
