#!/usr/bin/env node
/**
 * The standalone ingress gateway:
 * `JIBE_GATEWAY_CREDENTIALS_DIR=/etc/jibe/credentials JIBE_GATEWAY_PORT_MAP=80=8080,443=8443 node workers/gateway/main.ts`.
 * Settings come from the environment (see `readGatewayEnv`; mesh identity as the sidecar's,
 * `readIdentityEnv`). SIGINT/SIGTERM drain the listeners, then exit.
 */
import { homedir } from "node:os";
import { join } from "node:path";
import { createVerifier } from "../../broker/envelope.ts";
import { isJibeError } from "../../broker/errors.ts";
import { connectNats } from "../../broker/nats-connection.ts";
import { loadTrustJwks } from "../../broker/signing-key-file.ts";
import { startIdentityFromEnv } from "../sidecar/env-identity.ts";
import { readTelemetryEnv } from "../sidecar/telemetry-env.ts";
import { startGateway } from "./gateway.ts";
import { readGatewayEnv } from "./gateway-env.ts";

async function main(): Promise<void> {
  const home = process.env.JIBE_HOME ?? join(homedir(), ".jibe");
  const env = readGatewayEnv(process.env, home);
  const verifier = await createVerifier(await loadTrustJwks(env.trustJwks));
  const nc = await connectNats(env.natsUrl, { name: env.proxy.id });
  // The gateway's SPIFFE certificate (auto-mTLS to sidecars); without a credential: plaintext upstreams.
  const identity = await startIdentityFromEnv({ nc, verifier, env: process.env, log: console });
  const gateway = await startGateway({
    nc,
    verifier,
    proxy: env.proxy,
    host: env.host,
    bindPort: (port) => env.portMap[port] ?? port,
    ...(env.credentialsDir ? { credentialsDir: env.credentialsDir } : {}),
    ...(identity ? { identity: identity.client } : {}),
    telemetry: readTelemetryEnv(process.env),
  });
  console.info(`gateway ${env.proxy.id}: serving ports ${JSON.stringify(gateway.ports())}`);

  let stopping = false;
  const shutdown = (signal: string) => {
    if (stopping) return;
    stopping = true;
    console.info(`${signal}: draining`);
    gateway
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
  console.error(isJibeError(error) && error.user ? `jibe gateway: ${error.message}` : error);
  process.exit(1);
});
