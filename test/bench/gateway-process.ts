#!/usr/bin/env node
/**
 * The Node ingress gateway for the gateway benchmark, in its own process so its CPU and RSS are
 * its own. Settings as the standalone gateway (`readGatewayEnv`: `JIBE_GATEWAYS` names the Gateway
 * API Gateway it implements). Prints `{"ready":true}` once it follows policy (its ports open when
 * the Gateway arrives); SIGTERM stops it.
 */
import { tmpdir } from "node:os";
import { createVerifier } from "../../broker/envelope.ts";
import { silentLogger } from "../../broker/logger.ts";
import { connectNats } from "../../broker/nats-connection.ts";
import { loadTrustJwks } from "../../broker/signing-key-file.ts";
import { startGateway } from "../../workers/gateway/gateway.ts";
import { readGatewayEnv } from "../../workers/gateway/gateway-env.ts";
import { readTelemetryEnv } from "../../workers/sidecar/telemetry-env.ts";

const env = readGatewayEnv(process.env, tmpdir());
const verifier = await createVerifier(await loadTrustJwks(env.trustJwks));
const nc = await connectNats(env.natsUrl, { name: env.proxy.id });
const gateway = await startGateway({
  nc,
  verifier,
  proxy: env.proxy,
  host: env.host,
  telemetry: readTelemetryEnv(process.env),
  log: silentLogger,
});
console.log(JSON.stringify({ ready: true }));
process.once("SIGTERM", () => {
  void gateway
    .stop()
    .then(() => nc.close())
    .finally(() => process.exit(0));
});
