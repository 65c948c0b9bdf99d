/**
 * Bus names of the identity service. They sit OUTSIDE `jibe.v1.>` on purpose: every proxy's policy
 * sync subscribes to `jibe.v1.>` and would receive (and drop as malformed) every CSR, and CSRs
 * carry bearer tokens that proxies have no business seeing. The version follows the service name,
 * as in `jibe.v1`: an incompatible change of the CSR request bumps it.
 *
 * @example
 * ```ts
 * nc.request(CSR_SUBJECT, JSON.stringify(request));   // "jibe.identity.v1.csr"
 * kv.watch({ key: TRUST_BUNDLE_KEY });                 // bucket "jibe-identity", key "trust-bundle"
 * ```
 */
export const IDENTITY_SUBJECT_PREFIX = "jibe.identity.v1";
/** Request/reply: a workload sends a CSR request, one CA replica (queue group) answers. */
export const CSR_SUBJECT = `${IDENTITY_SUBJECT_PREFIX}.csr`;
/** Queue group of the CA replicas serving {@link CSR_SUBJECT}. */
export const CA_QUEUE_GROUP = "jibe-ca";
/** JetStream KV bucket of the identity service. */
export const IDENTITY_BUCKET = "jibe-identity";
/** Key of the signed trust bundle in {@link IDENTITY_BUCKET}. */
export const TRUST_BUNDLE_KEY = "trust-bundle";
