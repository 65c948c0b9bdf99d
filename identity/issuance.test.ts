import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { NatsConnection } from "@nats-io/nats-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createSigner, generateSigningKey, type Signer } from "../broker/envelope.ts";
import { connectNats } from "../broker/nats-connection.ts";
import { useTestNats } from "../test/support/nats.ts";
import { createWorkloadCsr } from "./create-csr.ts";
import type { CsrReply } from "./csr-wire.ts";
import { type IdentityService, startIdentityService } from "./identity-service.ts";
import { createJoinToken } from "./join-token.ts";
import { splitPem, toPem } from "./pem.ts";
import { requestCertificate } from "./request-certificate.ts";
import { openssl, withPemFiles } from "./test-openssl.ts";
import { startWorkloadIdentity } from "./workload-identity.ts";

const server = useTestNats();
const grant = { trustDomain: "cluster.local", namespace: "default", serviceAccount: "reviews" };
const reviewsId = "spiffe://cluster.local/ns/default/sa/reviews";

let home: string;
let nc: NatsConnection;
let signer: Signer;
let identity: IdentityService;
let token: string;

beforeAll(async () => {
  home = await mkdtemp(join(tmpdir(), "jibe-identity-issuance-"));
  nc = await connectNats(server().url);
  const { privateJwk, publicJwks } = await generateSigningKey();
  signer = await createSigner(privateJwk);
  identity = await startIdentityService({ nc, home, signer, trustJwks: publicJwks });
  token = await createJoinToken(signer, grant, { now: Date.now() });
});

afterAll(async () => {
  await identity?.stop();
  await nc?.close();
  await rm(home, { recursive: true, force: true });
});

async function ask(
  spiffeId: string,
  credentialToken = token,
  tamper?: (pem: string) => string,
): Promise<CsrReply> {
  const { csrPem } = await createWorkloadCsr({ spiffeId, crypto });
  return requestCertificate(nc, {
    v: 1,
    csr: tamper ? tamper(csrPem) : csrPem,
    credential: { type: "join-token", token: credentialToken },
  });
}

function expectRefused(reply: CsrReply, code: string): void {
  expect(reply.ok).toBe(false);
  if (!reply.ok) expect(reply.code).toBe(code);
}

describe("certificate issuance over the bus", () => {
  it("issues a chain that openssl verifies against the mesh root", async () => {
    const reply = await ask(reviewsId);
    if (!reply.ok) throw new Error(`${reply.code}: ${reply.message}`);
    const [leaf, ...intermediates] = splitPem(reply.certChainPem);
    expect(intermediates).toHaveLength(1);
    const files = {
      "root.pem": reply.rootsPem,
      "intermediate.pem": toPem("CERTIFICATE", intermediates[0]!.der),
      "leaf.pem": toPem("CERTIFICATE", leaf!.der),
    };
    const verified = await withPemFiles(files, (dir) =>
      openssl([
        "verify",
        "-CAfile",
        `${dir}/root.pem`,
        "-untrusted",
        `${dir}/intermediate.pem`,
        `${dir}/leaf.pem`,
      ]),
    );
    expect(verified.stdout).toContain("leaf.pem: OK");
    const text = await withPemFiles(files, (dir) =>
      openssl(["x509", "-in", `${dir}/leaf.pem`, "-noout", "-text"]),
    );
    expect(text.stdout).toContain(`URI:${reviewsId}`);
    expect(text.stdout).toMatch(/CA:FALSE/);
    expect(text.stdout).toMatch(/Digital Signature/);
    expect(text.stdout).toMatch(/TLS Web Server Authentication, TLS Web Client Authentication/);
    // Default lifetime 24 h (minus the clock-skew backdate).
    expect(Date.parse(reply.notAfter) - Date.now()).toBeGreaterThan(23.9 * 3600_000);
  });

  it("honours a per-workload TTL", async () => {
    const { csrPem } = await createWorkloadCsr({ spiffeId: reviewsId, crypto });
    const reply = await requestCertificate(nc, {
      v: 1,
      csr: csrPem,
      credential: { type: "join-token", token },
      ttlSeconds: 600,
    });
    if (!reply.ok) throw new Error(reply.message);
    expect(Date.parse(reply.notAfter) - Date.parse(reply.notBefore)).toBe(660_000); // 600 s + 60 s backdate
  });

  it("refuses a CSR in another trust domain", async () => {
    const reply = await ask("spiffe://other.example/ns/default/sa/reviews");
    expectRefused(reply, "trust-domain-mismatch");
  });

  it("refuses a CSR for an identity the token does not grant", async () => {
    expectRefused(await ask("spiffe://cluster.local/ns/default/sa/ratings"), "identity-not-granted");
    expectRefused(await ask("spiffe://cluster.local/ns/prod/sa/reviews"), "identity-not-granted");
  });

  it("refuses a CSR whose signature does not verify", async () => {
    const flipLastByte = (pem: string) => {
      const der = splitPem(pem)[0]!.der.slice();
      der[der.length - 1] = der.at(-1)! ^ 0x01; // inside the ECDSA signature's s
      return toPem("CERTIFICATE REQUEST", der);
    };
    expectRefused(await ask(reviewsId, token, flipLastByte), "csr-invalid-signature");
    expectRefused(await ask(reviewsId, token, () => "not a csr"), "csr-malformed");
  });

  it("refuses expired, forged and tampered join tokens", async () => {
    const expired = await createJoinToken(signer, grant, {
      now: Date.now() - 2 * 86_400_000,
      ttlMs: 86_400_000,
    });
    expectRefused(await ask(reviewsId, expired), "token-expired");
    const stranger = await createSigner((await generateSigningKey()).privateJwk);
    expectRefused(
      await ask(reviewsId, await createJoinToken(stranger, grant, { now: Date.now() })),
      "token-invalid",
    );
    const [header, , signature] = token.split(".");
    const widened = Buffer.from(
      JSON.stringify({
        v: 1,
        id: "x",
        iat: Date.now(),
        exp: Date.now() + 1e9,
        join: { ...grant, serviceAccount: "ratings" },
      }),
    ).toString("base64url");
    expectRefused(
      await ask("spiffe://cluster.local/ns/default/sa/ratings", `${header}.${widened}.${signature}`),
      "token-invalid",
    );
  });

  it("answers ca-unavailable when no CA listens", async () => {
    const { csrPem } = await createWorkloadCsr({ spiffeId: reviewsId, crypto });
    const reply = await requestCertificate(
      nc,
      { v: 1, csr: csrPem, credential: { type: "join-token", token } },
      { subject: "jibe.identity.v1.nobody", timeoutMs: 500 },
    );
    expectRefused(reply, "ca-unavailable");
  });

  it("counts issued and refused requests", () => {
    expect(identity.service.stats.issued).toBeGreaterThanOrEqual(2);
    expect(identity.service.stats.refused["identity-not-granted"]).toBeGreaterThanOrEqual(2);
  });
});

describe("the workload's private key", () => {
  it("never appears on the bus or in the logs during issuance and rotation", async () => {
    const watcher = await connectNats(server().url);
    const seen: Uint8Array[] = [];
    const sub = watcher.subscribe(">", {
      callback: (_err, msg) => {
        seen.push(msg.data.slice());
      },
    });
    await watcher.flush();
    const logged: string[] = [];
    const log = Object.fromEntries(
      (["debug", "info", "warn", "error"] as const).map((level) => [
        level,
        (...args: unknown[]) => logged.push(args.map(String).join(" ")),
      ]),
    ) as unknown as Console;
    const workload = await startWorkloadIdentity({
      nc,
      id: grant,
      credential: { type: "join-token", token },
      crypto,
      log,
      ttlSeconds: 2,
    });
    const keys = [(await workload.client.ready).keyPem];
    keys.push(
      await new Promise<string>((resolve) => workload.client.onRotate((creds) => resolve(creds.keyPem))),
    );
    expect(new Set(keys).size).toBe(2); // a fresh key per rotation
    workload.stop();
    await watcher.flush();
    sub.unsubscribe();
    await watcher.close();

    expect(seen.length).toBeGreaterThanOrEqual(4); // two requests, two replies at least
    const csrs = seen
      .map((data) => new TextDecoder().decode(data))
      .filter((text) => text.includes("CERTIFICATE REQUEST"));
    expect(csrs.length).toBeGreaterThanOrEqual(2);
    for (const keyPem of keys) {
      const pkcs8 = splitPem(keyPem)[0]!.der;
      // The private scalar: the 32-byte OCTET STRING after `04 20` inside the SEC1 structure.
      const at = pkcs8.findIndex((byte, i) => byte === 0x04 && pkcs8[i + 1] === 0x20 && i > 20);
      expect(at).toBeGreaterThan(20);
      const scalar = pkcs8.subarray(at + 2, at + 34);
      const needles = [
        "PRIVATE KEY",
        Buffer.from(scalar).toString("base64").slice(0, 24),
        Buffer.from(scalar).toString("base64url").slice(0, 24),
        Buffer.from(scalar).toString("hex"),
        Buffer.from(pkcs8).toString("base64").slice(40, 80),
      ];
      for (const data of seen) {
        const text = new TextDecoder().decode(data);
        for (const needle of needles) expect(text).not.toContain(needle);
        expect(Buffer.from(data).includes(Buffer.from(scalar))).toBe(false);
      }
      for (const line of logged) for (const needle of needles) expect(line).not.toContain(needle);
    }
  });
});
