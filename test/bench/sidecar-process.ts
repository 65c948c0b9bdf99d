#!/usr/bin/env node
/**
 * One Jibe sidecar for the data-plane benchmarks, in its own process so its CPU and RSS are its
 * own. Settings as the standalone sidecar (`readSidecarEnv`, `readTelemetryEnv`); with
 * `JIBE_BENCH_JOIN_TOKEN` it also gets a SPIFFE identity from the mesh CA over the bus
 * (service account `JIBE_BENCH_SERVICE_ACCOUNT`) and speaks mTLS. Prints
 * `{"inboundPort":N,"outboundPort":N}` once listening; SIGTERM stops it.
 */
import { tmpdir } from "node:os";
import { createVerifier } from "../../broker/envelope.ts";
import { silentLogger } from "../../broker/logger.ts";
import { connectNats } from "../../broker/nats-connection.ts";
import { loadTrustJwks } from "../../broker/signing-key-file.ts";
import { startWorkloadIdentity } from "../../identity/workload-identity.ts";
import { startSidecar } from "../../workers/sidecar/sidecar.ts";
import { readSidecarEnv } from "../../workers/sidecar/sidecar-env.ts";
import { readTelemetryEnv } from "../../workers/sidecar/telemetry-env.ts";

const env = readSidecarEnv(process.env, tmpdir());
const verifier = await createVerifier(await loadTrustJwks(env.trustJwks));
const nc = await connectNats(env.natsUrl, { name: env.proxy.id });
const token = process.env.JIBE_BENCH_JOIN_TOKEN;
const identity = token
  ? await startWorkloadIdentity({
      nc,
      id: {
        trustDomain: "cluster.local",
        namespace: env.proxy.namespace,
        serviceAccount: process.env.JIBE_BENCH_SERVICE_ACCOUNT ?? "default",
      },
      credential: { type: "join-token", token },
      verifier,
      crypto: globalThis.crypto,
    })
  : undefined;
if (identity) await identity.client.ready;
const sidecar = await startSidecar({
  nc,
  verifier,
  proxy: env.proxy,
  appPort: env.appPort,
  inboundPort: env.inboundPort,
  outboundPort: env.outboundPort,
  host: env.host,
  telemetry: readTelemetryEnv(process.env),
  log: silentLogger,
  ...(identity ? { identity: identity.client } : {}),
});
console.log(JSON.stringify({ inboundPort: sidecar.inboundPort, outboundPort: sidecar.outboundPort }));
process.once("SIGTERM", () => {
  void sidecar
    .stop()
    .then(() => identity?.stop())
    .then(() => nc.close())
    .finally(() => process.exit(0));
});
