import { type Refusal, refuse } from "./errors.ts";
import { splitPem } from "./pem.ts";
import { parseWorkloadId, type WorkloadId } from "./spiffe-id.ts";
import { isCa, verifyChain } from "./verify-chain.ts";
import { x509 } from "./x509.ts";

/**
 * Checks a peer's X.509-SVID the way a proxy must before believing its identity: the first
 * certificate of `chainPem` is a non-CA leaf with exactly one URI SAN, a workload SPIFFE ID in
 * `trustDomain`, valid at `now`, chaining through the rest of `chainPem` to one of `rootsPem`.
 * Refusals: `chain-untrusted` (foreign CA, broken chain), `certificate-expired`,
 * `trust-domain-mismatch`, `spiffe-id-invalid`. Pure (Web Crypto).
 *
 * @example
 * ```ts
 * const peer = await verifyWorkloadCertificate({ chainPem, rootsPem, trustDomain: "cluster.local", now: Date.now(), crypto });
 * if (peer.ok) authorize(peer.spiffeId);
 * ```
 */
export type VerifiedWorkload = { ok: true; spiffeId: string; id: WorkloadId; notAfter: number } | Refusal;

function certificates(pem: string): x509.X509Certificate[] {
  return splitPem(pem)
    .filter((block) => block.label === "CERTIFICATE")
    .map((block) => new x509.X509Certificate(block.der as BufferSource));
}

export async function verifyWorkloadCertificate(opts: {
  chainPem: string;
  rootsPem: string;
  trustDomain: string;
  now: number;
  crypto: Crypto;
}): Promise<VerifiedWorkload> {
  let chain: x509.X509Certificate[];
  let roots: x509.X509Certificate[];
  try {
    chain = certificates(opts.chainPem);
    roots = certificates(opts.rootsPem);
  } catch {
    return refuse("chain-untrusted", "a certificate does not parse as X.509");
  }
  const [leaf, ...intermediates] = chain;
  if (!leaf) return refuse("chain-untrusted", "no certificate presented");
  if (isCa(leaf)) return refuse("chain-untrusted", "a CA certificate cannot be a workload identity");
  const san = leaf.getExtension("2.5.29.17");
  const names = san instanceof x509.SubjectAlternativeNameExtension ? san.names.items : [];
  const uris = names.filter((name) => name.type === "url");
  if (uris.length !== 1 || !uris[0]) {
    return refuse("spiffe-id-invalid", `an X.509-SVID has exactly one URI SAN, found ${uris.length}`);
  }
  const id = parseWorkloadId(uris[0].value);
  if (!id.ok) return id;
  if (id.id.trustDomain !== opts.trustDomain) {
    return refuse("trust-domain-mismatch", `${uris[0].value} is not in trust domain ${opts.trustDomain}`);
  }
  const verified = await verifyChain({
    cert: leaf,
    intermediates,
    roots,
    now: opts.now,
    crypto: opts.crypto,
  });
  if (!verified.ok) return verified;
  return { ok: true, spiffeId: uris[0].value, id: id.id, notAfter: leaf.notAfter.getTime() };
}
