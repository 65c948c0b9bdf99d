import { spawn } from "node:child_process";
import { X509Certificate } from "node:crypto";
import { once } from "node:events";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { runCli } from "../../control/cli/run-cli.ts";
import { type LocalMesh, type RunningWorkload, startLocalMesh } from "../../control/local-mesh/mesh.ts";

/**
 * `npm start`'s mesh with identity: every sidecar has a SPIFFE certificate from the mesh CA and
 * sidecars reach each other with auto-mTLS, so PeerAuthentication STRICT on reviews keeps
 * productpage → reviews working while plaintext to reviews is refused.
 */

let mesh: LocalMesh;

const workload = (service: string): RunningWorkload => {
  const found = mesh.workloads.find((w) => w.service === service);
  if (!found) throw new Error(`no ${service} workload`);
  return found;
};

async function plaintext(port: number, path = "/productpage"): Promise<{ status: number; body: string }> {
  try {
    const response = await fetch(`http://127.0.0.1:${port}${path}`, { signal: AbortSignal.timeout(5_000) });
    return { status: response.status, body: await response.text() };
  } catch {
    return { status: 0, body: "" };
  }
}

async function apply(resources: object[]): Promise<void> {
  const response = await fetch(`${mesh.adminUrl}/api/v1/apply`, {
    method: "POST",
    headers: { authorization: `Bearer ${mesh.token}`, "content-type": "application/json" },
    body: JSON.stringify(resources),
  });
  expect(response.status).toBe(200);
}

beforeAll(async () => {
  mesh = await startLocalMesh({ adminPort: 0, edge: false });
}, 120_000);

afterAll(async () => {
  await mesh?.stop();
});

describe("the local mesh with mTLS between sidecars", () => {
  it("serves the workload certificate chained to the mesh root, with the workload's SPIFFE ID", async () => {
    const reviews = workload("reviews");
    const child = spawn(
      "openssl",
      [
        "s_client",
        "-connect",
        `127.0.0.1:${reviews.inboundPort}`,
        "-CAfile",
        join(mesh.home, "ca", "root-cert.pem"),
        "-showcerts",
      ],
      { stdio: ["pipe", "pipe", "pipe"] },
    );
    let out = "";
    child.stdout.on("data", (d: Buffer) => (out += d.toString()));
    child.stdin.end();
    const timer = setTimeout(() => child.kill(), 5_000);
    await once(child, "exit");
    clearTimeout(timer);
    expect(out).toContain("Verify return code: 0 (ok)");
    const leaf = out.match(/-----BEGIN CERTIFICATE-----[\s\S]+?-----END CERTIFICATE-----/)?.[0] ?? "";
    expect(new X509Certificate(leaf).subjectAltName).toBe(
      "URI:spiffe://cluster.local/ns/default/sa/bookinfo-reviews",
    );
  });

  it("STRICT on reviews: productpage still gets reviews (mTLS), plaintext to reviews is refused", async () => {
    const productpage = workload("productpage");
    const reviews = workload("reviews");
    await apply([
      {
        apiVersion: "security.istio.io/v1",
        kind: "PeerAuthentication",
        metadata: { name: "reviews-strict", namespace: "default" },
        spec: { selector: { matchLabels: { app: "reviews" } }, mtls: { mode: "STRICT" } },
      },
    ]);
    const started = Date.now();
    while ((await plaintext(reviews.inboundPort, "/reviews/0")).status !== 0) {
      if (Date.now() - started > 10_000) throw new Error("reviews never became STRICT");
      await new Promise((r) => setTimeout(r, 50));
    }
    for (let i = 0; i < 6; i++) {
      const page = await plaintext(productpage.inboundPort);
      expect(page.status).toBe(200);
      const body = JSON.parse(page.body) as { reviews?: { version?: string; error?: string } };
      expect(body.reviews?.error).toBeUndefined();
      expect(body.reviews?.version).toMatch(/^v[123]$/);
    }
  });

  it("`jibe mtls check productpage reviews` says yes from what the proxies observed; `proxy-config secret` shows the chain", async () => {
    let out = "";
    const io = {
      env: {},
      stdout: { write: (text: string) => (out += text) },
      stderr: { write: (text: string) => (out += text) },
      readStdin: async () => "",
    };
    const jibe = (...args: string[]) =>
      runCli(["--admin-url", mesh.adminUrl, "--token", mesh.token, ...args], io);
    const code = await jibe("mtls", "check", "productpage", "reviews");
    expect(code).toBe(0);
    expect(out).toMatch(/mTLS: yes: all \d+ observed requests used mutual TLS/);
    expect(out).toContain("spiffe://cluster.local/ns/default/sa/bookinfo-reviews");
    expect(out).toContain(
      "client identity seen by the server: spiffe://cluster.local/ns/default/sa/bookinfo-productpage",
    );
    out = "";
    expect(await jibe("proxy-config", "secret", "productpage")).toBe(0);
    expect(out).toContain("spiffe://cluster.local/ns/default/sa/bookinfo-productpage");
    expect(out).toMatch(/ROOTCA\s+CA\s+ACTIVE\s+true/);
  });
});
