import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type ApiServerDouble, startApiServerDouble } from "../../../test/k8s-apiserver/api-server.ts";
import { type AdminFixture, startAdminFixture } from "../../admin/test-fixture.ts";
import { runCli } from "../run-cli.ts";

let fx: AdminFixture;
let api: ApiServerDouble;
let scratch: string;

const SERVICE = `apiVersion: v1
kind: Service
metadata: { name: reviews, namespace: shop }
spec: { selector: { app: reviews }, ports: [{ name: http, port: 9080 }] }
`;
const VS_V3 = `apiVersion: networking.istio.io/v1
kind: VirtualService
metadata: { name: reviews, namespace: shop }
spec:
  hosts: [reviews]
  http: [{ route: [{ destination: { host: reviews, subset: v3 } }] }]
`;

async function jibe(args: string[], env: Record<string, string> = {}) {
  let stdout = "";
  let stderr = "";
  const code = await runCli(args, {
    env: { HOME: scratch, JIBE_ADMIN_URL: fx.cp.adminUrl, JIBE_TOKEN: fx.cp.token, ...env },
    stdout: { write: (s: string) => (stdout += s) },
    stderr: { write: (s: string) => (stderr += s) },
    readStdin: async () => "",
  });
  return { code, stdout, stderr };
}

beforeAll(async () => {
  fx = await startAdminFixture();
  api = await startApiServerDouble();
  scratch = await mkdtemp(join(tmpdir(), "jibe-analyze-"));
  await writeFile(join(scratch, "service.yaml"), SERVICE);
  await writeFile(join(scratch, "vs.yaml"), VS_V3);
  await writeFile(
    join(scratch, "kubeconfig"),
    `apiVersion: v1
kind: Config
clusters: [{ name: double, cluster: { server: "${api.url}", insecure-skip-tls-verify: true } }]
users: [{ name: me, user: {} }]
contexts: [{ name: double, context: { cluster: double, user: me } }]
current-context: double
`,
  );
});

afterAll(async () => {
  await api.stop();
  await fx.stop();
  await rm(scratch, { recursive: true, force: true });
});

describe("jibe analyze", () => {
  it("reports problems across files with their codes, and exits 1 on errors", async () => {
    const run = await jibe(["analyze", "-f", join(scratch, "service.yaml"), "-f", join(scratch, "vs.yaml")]);
    expect(run.code).toBe(1);
    expect(run.stdout).toMatch(
      /^Error \[JIBE3001\] \(VirtualService\/shop\/reviews\) spec\.http\[0\]\.route\[0\]\.destination\.subset: subset "v3"/m,
    );
    expect(run.stderr).toMatch(/note: namespace injection was not checked/);
  });

  it("reads the applied configuration from the control plane, and namespaces from the cluster", async () => {
    const applied = await fx.api("/api/v1/apply", {
      method: "POST",
      body: "apiVersion: v1\nkind: Service\nmetadata: { name: web, namespace: legacy }\nspec: { selector: { app: web }, ports: [{ port: 8080 }] }\n",
      type: "application/yaml",
    });
    expect(applied.status).toBe(200);
    api.apply({ apiVersion: "v1", kind: "Namespace", metadata: { name: "legacy" } });
    const run = await jibe(["analyze", "--kubeconfig", join(scratch, "kubeconfig")]);
    expect(run.stdout).toMatch(
      /^Warning \[JIBE3006\] \(Service\/legacy\/web\) spec\.ports\[0\]: port 8080 has no protocol/m,
    );
    expect(run.stdout).toMatch(
      /^Warning \[JIBE3005\] \(Namespace\/legacy\) metadata\.labels: namespace legacy has Services/m,
    );
    expect(run.code).toBe(0);
  });
});
