import type { NatsConnection } from "@nats-io/nats-core";
import type { JWK } from "jose";
import { createVerifier, type Signer } from "../broker/envelope.ts";
import { type Logger, prefixLogger, silentLogger } from "../broker/logger.ts";
import { type Authenticator, createAuthenticator, type TokenReviewer } from "./authenticate.ts";
import { type LoadedCa, loadOrCreateCaFiles, loadPluginCaFiles } from "./ca-files.ts";
import { type CaRotation, resumeCaRotation } from "./ca-rotation.ts";
import { type CaService, serveCertificateRequests } from "./ca-service.ts";
import { type CertificateIssuer, createCertificateIssuer } from "./issuer.ts";
import { DEFAULT_TRUST_DOMAIN } from "./spiffe-id.ts";
import { publishTrustBundle } from "./trust-bundle-store.ts";

/**
 * Node adapter: the mesh CA as one call, for the control plane to start next to its admin API.
 * Loads the CA (`caDir` plug-in, else `$home/ca/`, generated on first start), accepts join tokens
 * signed by the control-plane keys in `trustJwks` (and Kubernetes tokens when a TokenReview
 * client is given), serves CSRs on `jibe.identity.v1.csr` and publishes the signed trust bundle.
 *
 * @example
 * ```ts
 * const { signer, trustJwks } = await loadOrCreateSigningKey(home);
 * const identity = await startIdentityService({ nc, home, signer, trustJwks, log: console });
 * // JIBE_TRUST_DOMAIN, JIBE_CA_DIR, JIBE_WORKLOAD_CERT_TTL are read by the caller and passed in.
 * ```
 */
export interface IdentityServiceOptions {
  nc: NatsConnection;
  home: string;
  signer: Signer;
  trustJwks: { keys: JWK[] };
  trustDomain?: string;
  /** A plug-in CA directory (Istio cacerts layout); default: self-signed under `$home/ca`. */
  caDir?: string;
  /** Mesh-wide workload certificate lifetime; default 24 h. */
  defaultTtlMs?: number;
  maxTtlMs?: number;
  tokenReviewer?: TokenReviewer;
  log?: Logger;
}

export interface IdentityService {
  loaded: LoadedCa;
  authenticator: Authenticator;
  issuer: CertificateIssuer;
  service: CaService;
  /** Root rotation with overlap: step it, then {@link IdentityService.publishTrustBundle}. */
  rotation: CaRotation;
  /** Publishes the rotation's current trust bundle (signed) to the bus. */
  publishTrustBundle(): Promise<void>;
  stop(): Promise<void>;
}

export async function startIdentityService(opts: IdentityServiceOptions): Promise<IdentityService> {
  const log = prefixLogger(opts.log ?? silentLogger, "identity");
  const trustDomain = opts.trustDomain ?? DEFAULT_TRUST_DOMAIN;
  const loaded = opts.caDir
    ? await loadPluginCaFiles({ dir: opts.caDir, trustDomain })
    : await loadOrCreateCaFiles({ home: opts.home, trustDomain });
  log.info(
    `${loaded.created ? "created" : "loaded"} ${loaded.source} CA in ${loaded.dir} for trust domain ${trustDomain}, ` +
      `signing certificate valid until ${loaded.ca.signingCert.notAfter.toISOString()}`,
  );
  const authenticator = createAuthenticator({
    joinTokens: await createVerifier(opts.trustJwks),
    ...(opts.tokenReviewer ? { kubernetes: { reviewer: opts.tokenReviewer, trustDomain } } : {}),
  });
  // Several roots in root-cert.pem: a restart in the middle of a root rotation resumes its overlap.
  const rotation = await resumeCaRotation(loaded.ca, globalThis.crypto);
  const issuer = createCertificateIssuer({
    ca: rotation.signingCa,
    authenticator,
    crypto: globalThis.crypto,
    ...(opts.defaultTtlMs ? { defaultTtlMs: opts.defaultTtlMs } : {}),
    ...(opts.maxTtlMs ? { maxTtlMs: opts.maxTtlMs } : {}),
  });
  const service = serveCertificateRequests({ nc: opts.nc, issuer, log });
  const publish = async () => {
    await publishTrustBundle(opts.nc, opts.signer, rotation.bundle());
    await opts.nc.flush();
  };
  await publish();
  return {
    loaded,
    authenticator,
    issuer,
    service,
    rotation,
    publishTrustBundle: publish,
    stop: () => service.stop(),
  };
}
