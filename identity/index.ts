/**
 * The identity package, workerd-safe parts (Web Crypto, @peculiar/x509, nats-core/kv; no `node:*`):
 * CA core, CSR issuance over the bus, rotation client, trust bundle. Node adapters (CA files,
 * the identity service, node:tls options) are in `./node.ts`.
 *
 * @example
 * ```ts
 * import { startWorkloadIdentity } from "../identity/index.ts";
 * ```
 */
export * from "./authenticate.ts";
export * from "./ca-rotation.ts";
export * from "./ca-service.ts";
export * from "./certificate-authority.ts";
export * from "./create-csr.ts";
export * from "./csr-wire.ts";
export * from "./describe-secret.ts";
export * from "./errors.ts";
export * from "./generate-ca.ts";
export * from "./issuer.ts";
export * from "./join-token.ts";
export * from "./read-csr.ts";
export * from "./request-certificate.ts";
export * from "./rotation-client.ts";
export * from "./sign-workload-certificate.ts";
export * from "./spiffe-id.ts";
export * from "./subjects.ts";
export * from "./trust-bundle.ts";
export * from "./trust-bundle-store.ts";
export * from "./verify-chain.ts";
export * from "./verify-workload-certificate.ts";
export * from "./workload-identity.ts";
