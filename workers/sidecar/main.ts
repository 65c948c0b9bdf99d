#!/usr/bin/env node
/**
 * The standalone sidecar: `JIBE_APP_PORT=9080 JIBE_LABELS=app=reviews,version=v1 node workers/sidecar/main.ts`.
 * Settings come from the environment (see `readSidecarEnv`). SIGINT/SIGTERM stop accepting
 * connections, let in-flight requests finish, then exit.
 */
import { homedir } from "node:os";
import { join } from "node:path";
import { createVerifier } from "../../broker/envelope.ts";
import { isJibeError } from "../../broker/errors.ts";
import { connectNats } from "../../broker/nats-connection.ts";
import { loadTrustJwks } from "../../broker/signing-key-file.ts";
import { readAppMetricsEnv } from "./app-metrics.ts";
import { startIdentityFromEnv } from "./env-identity.ts";
import { startSidecar } from "./sidecar.ts";
import { readSidecarEnv } from "./sidecar-env.ts";
import { readTelemetryEnv } from "./telemetry-env.ts";

async function main(): Promise<void> {
  const home = process.env.JIBE_HOME ?? join(homedir(), ".jibe");
  const env = readSidecarEnv(process.env, home);
  const verifier = await createVerifier(await loadTrustJwks(env.trustJwks));
  const nc = await connectNats(env.natsUrl, { name: env.proxy.id });
  // The workload's SPIFFE certificate over the bus (mTLS); without a credential: plaintext only.
  const identity = await startIdentityFromEnv({ nc, verifier, env: process.env, log: console });
  const sidecar = await startSidecar({
    nc,
    verifier,
    proxy: env.proxy,
    appPort: env.appPort,
    inboundPort: env.inboundPort,
    outboundPort: env.outboundPort,
    host: env.host,
    adminPort: env.adminPort,
    ...(env.appProbers ? { appProbers: env.appProbers } : {}),
    telemetry: readTelemetryEnv(process.env),
    ...(identity ? { identity: identity.client } : {}),
    appMetrics: readAppMetricsEnv(process.env),
  });

  let stopping = false;
  const shutdown = (signal: string) => {
    if (stopping) return;
    stopping = true;
    console.info(
      `${signal}: draining ${sidecar.stats().outbound.inFlight + sidecar.stats().inbound.inFlight} in-flight requests`,
    );
    sidecar
      .stop()
      .then(() => identity?.stop())
      .then(() => nc.drain())
      .catch((error: unknown) => console.error(`stopping: ${String(error)}`))
      .finally(() => process.exit(0));
  };
  process.once("SIGINT", () => shutdown("SIGINT"));
  process.once("SIGTERM", () => shutdown("SIGTERM"));
}

main().catch((error: unknown) => {
  console.error(isJibeError(error) && error.user ? `jibe sidecar: ${error.message}` : error);
  process.exit(1);
});
