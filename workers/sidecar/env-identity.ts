import { readFileSync } from "node:fs";
import type { NatsConnection } from "@nats-io/nats-core";
import type { Verifier } from "../../broker/envelope.ts";
import type { Logger } from "../../broker/logger.ts";
import { startWorkloadIdentity, type WorkloadIdentity } from "../../identity/workload-identity.ts";
import { readIdentityEnv, readToken } from "./identity-env.ts";

/**
 * The standalone proxies' (sidecar, gateway) SPIFFE identity from the environment (`readIdentityEnv`):
 * a certificate over the bus, renewed by the rotation client; a Kubernetes service-account token is
 * re-read from its file at each renewal (the kubelet rotates it). Undefined without a credential:
 * the proxy then speaks plaintext only.
 *
 * @example
 * ```ts
 * const identity = await startIdentityFromEnv({ nc, verifier, env: process.env, log: console });
 * await startSidecar({ ..., ...(identity ? { identity: identity.client } : {}) });
 * ```
 */
export async function startIdentityFromEnv(opts: {
  nc: NatsConnection;
  verifier: Verifier;
  env: Readonly<Record<string, string | undefined>>;
  log: Logger;
}): Promise<WorkloadIdentity | undefined> {
  const readFile = (path: string) => readFileSync(path, "utf8");
  const identityEnv = readIdentityEnv(opts.env, readFile);
  const credential = identityEnv?.credential;
  if (!identityEnv || !credential) return undefined;
  return startWorkloadIdentity({
    nc: opts.nc,
    verifier: opts.verifier,
    crypto: globalThis.crypto,
    id: identityEnv.id,
    credential: () =>
      credential.type === "kubernetes"
        ? {
            type: "kubernetes",
            token: readToken(readFile, credential.tokenFile, "JIBE_SERVICE_ACCOUNT_TOKEN_FILE"),
          }
        : credential,
    ...(identityEnv.ttlSeconds ? { ttlSeconds: identityEnv.ttlSeconds } : {}),
    log: opts.log,
  });
}
