import { mkdtemp, rm } from "node:fs/promises";
import { cpus, tmpdir } from "node:os";
import { join } from "node:path";
import { createSigner, generateSigningKey } from "../../broker/envelope.ts";
import { connectNats } from "../../broker/nats-connection.ts";
import { createWorkloadCsr } from "../../identity/create-csr.ts";
import type { CsrRequest } from "../../identity/csr-wire.ts";
import { startIdentityService } from "../../identity/identity-service.ts";
import { createJoinToken } from "../../identity/join-token.ts";
import { requestCertificate } from "../../identity/request-certificate.ts";
import { ms, percentile } from "./stats.ts";

/**
 * Certificate signing: workload certificates signed per second and signing latency with concurrent
 * CSRs, through the real path (NATS request/reply → join-token check → CSR parse + signature
 * check → sign → reply) against one CA process. CSRs are made before timing (workloads make their
 * own keys; that cost is theirs, not the CA's). The "in-process" row calls the issuer directly,
 * without the bus, in the same run. Client and CA share the machine's cores.
 */
export interface CertSigningResult {
  path: "bus" | "in-process";
  concurrency: number;
  certificates: number;
  perSecond: number;
  p50: number;
  p99: number;
}

export interface CertSigningOptions {
  natsUrl: string;
  /** Certificates per measured level. Default 3,000. */
  total?: number;
  /** In-flight CSRs. Default [1, 16, 64]. */
  concurrency?: number[];
}

async function drive(
  total: number,
  concurrency: number,
  issue: (index: number) => Promise<boolean>,
): Promise<{ perSecond: number; p50: number; p99: number }> {
  const latencies: number[] = [];
  let next = 0;
  const started = performance.now();
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      while (next < total) {
        const index = next++;
        const t0 = performance.now();
        if (!(await issue(index))) throw new Error("cert-signing bench: a CSR was refused");
        latencies.push(performance.now() - t0);
      }
    }),
  );
  const elapsed = performance.now() - started;
  return {
    perSecond: (total / elapsed) * 1000,
    p50: percentile(latencies, 50),
    p99: percentile(latencies, 99),
  };
}

export async function measureCertSigning(opts: CertSigningOptions): Promise<CertSigningResult[]> {
  const total = opts.total ?? 3_000;
  const levels = opts.concurrency ?? [1, 16, 64];
  const home = await mkdtemp(join(tmpdir(), "jibe-bench-ca-"));
  const caConnection = await connectNats(opts.natsUrl, { name: "bench-ca" });
  const clientConnection = await connectNats(opts.natsUrl, { name: "bench-workloads" });
  const { privateJwk, publicJwks } = await generateSigningKey();
  const signer = await createSigner(privateJwk);
  const identity = await startIdentityService({ nc: caConnection, home, signer, trustJwks: publicJwks });
  const issuer = identity.issuer;
  try {
    const grant = { trustDomain: "cluster.local", namespace: "bench", serviceAccount: "client" };
    const token = await createJoinToken(signer, grant, { now: Date.now() });
    const requests: CsrRequest[] = [];
    for (let i = 0; i < 256; i++) {
      const { csrPem } = await createWorkloadCsr({
        spiffeId: "spiffe://cluster.local/ns/bench/sa/client",
        crypto,
      });
      requests.push({ v: 1, csr: csrPem, credential: { type: "join-token", token } });
    }
    const request = (i: number) => requests[i % requests.length]!;
    const overBus = async (i: number) =>
      (await requestCertificate(clientConnection, request(i), { timeoutMs: 30_000 })).ok;
    const inProcess = async (i: number) => (await issuer.issue(request(i))).ok;
    await drive(500, 16, overBus); // warm-up (JIT, token cache)
    const results: CertSigningResult[] = [];
    for (const [path, issue] of [
      ["bus", overBus],
      ["in-process", inProcess],
    ] as const) {
      for (const concurrency of levels) {
        const measured = await drive(total, concurrency, issue);
        results.push({ path, concurrency, certificates: total, ...measured });
      }
    }
    return results;
  } finally {
    await identity.stop();
    await clientConnection.close();
    await caConnection.close();
    await rm(home, { recursive: true, force: true });
  }
}

export function renderCertSigning(results: readonly CertSigningResult[]): string {
  return [
    "## Certificate signing",
    "",
    "Workload certificates (ECDSA P-256 X.509-SVIDs) issued by one CA process: join-token check, CSR",
    "parse and signature check, signing, reply. `bus` = NATS request/reply from a workload connection",
    "(the real path); `in-process` = the issuer called directly, same run. CSRs are made before timing.",
    `Client and CA share ${cpus().length} cores. Goal: ≥ 1,000 certificates/s on 2 cores.`,
    "",
    "| path | concurrent CSRs | certificates | certs/s | p50 | p99 |",
    "|---|---:|---:|---:|---:|---:|",
    ...results.map(
      (r) =>
        `| ${r.path} | ${r.concurrency} | ${r.certificates} | ${Math.round(r.perSecond)} | ${ms(r.p50)} ms | ${ms(r.p99)} ms |`,
    ),
    "",
  ].join("\n");
}
