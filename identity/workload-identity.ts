import type { NatsConnection } from "@nats-io/nats-core";
import type { Verifier } from "../broker/envelope.ts";
import type { Logger } from "../broker/logger.ts";
import type { Credential } from "./authenticate.ts";
import { requestCertificate } from "./request-certificate.ts";
import { type RotationClient, type RotationClientOptions, startRotationClient } from "./rotation-client.ts";
import { formatSpiffeId, type WorkloadId } from "./spiffe-id.ts";
import { type TrustBundleWatch, watchTrustBundle } from "./trust-bundle-store.ts";

/**
 * Everything a proxy needs for its identity, over the bus: a rotation client that gets its
 * certificates by CSR request/reply, and (when a verifier is given) the trust bundle watch
 * feeding new roots into it. nats-core + kv + Web Crypto: runs in Node and workerd.
 *
 * @example
 * ```ts
 * const identity = await startWorkloadIdentity({ nc, verifier, crypto,
 *   id: { trustDomain: "cluster.local", namespace: "default", serviceAccount: "reviews" },
 *   credential: { type: "join-token", token } });
 * await identity.client.ready;
 * ```
 */
export interface WorkloadIdentityOptions
  extends Omit<RotationClientOptions, "spiffeId" | "fetch">,
    Partial<Pick<RotationClientOptions, "fetch">> {
  nc: NatsConnection;
  id: WorkloadId;
  /** A function so a refreshed token (e.g. a projected service-account token) is picked up. */
  credential: Credential | (() => Credential);
  /** Requested lifetime (SECRET_TTL); the CA's default when omitted. */
  ttlSeconds?: number;
  /** Trusted control-plane keys, to follow the signed trust bundle; omit to use the CA's replies only. */
  verifier?: Verifier;
  requestTimeoutMs?: number;
  log?: Logger;
}

export interface WorkloadIdentity {
  client: RotationClient;
  stop(): void;
}

export async function startWorkloadIdentity(opts: WorkloadIdentityOptions): Promise<WorkloadIdentity> {
  const credential =
    typeof opts.credential === "function" ? opts.credential : () => opts.credential as Credential;
  const client = startRotationClient({
    ...opts,
    spiffeId: formatSpiffeId(opts.id),
    fetch:
      opts.fetch ??
      ((csr) =>
        requestCertificate(
          opts.nc,
          {
            v: 1,
            csr,
            credential: credential(),
            ...(opts.ttlSeconds ? { ttlSeconds: opts.ttlSeconds } : {}),
          },
          opts.requestTimeoutMs ? { timeoutMs: opts.requestTimeoutMs } : {},
        )),
  });
  let bundle: TrustBundleWatch | undefined;
  if (opts.verifier) {
    bundle = await watchTrustBundle(opts.nc, opts.verifier, {
      onBundle: (trust) => {
        if (trust.trustDomain === opts.id.trustDomain) client.setRoots(trust.rootsPem);
      },
      ...(opts.log ? { log: opts.log } : {}),
    });
  }
  return {
    client,
    stop() {
      client.stop();
      bundle?.stop();
    },
  };
}
