import { type Refusal, refuse } from "./errors.ts";
import { x509 } from "./x509.ts";

/**
 * Builds and checks a path from `cert` through `intermediates` to one of `roots` (trust anchors,
 * matched by exact bytes): every issuer found by name must have signed its child, be a CA, and
 * every certificate on the path must be valid at `now`. Pure (Web Crypto).
 *
 * @example
 * ```ts
 * const result = await verifyChain({ cert: leaf, intermediates: [ica], roots: [root], now: Date.now(), crypto });
 * if (!result.ok) console.log(result.code); // "chain-untrusted" | "certificate-expired"
 * ```
 */
export interface VerifyChainOptions {
  cert: x509.X509Certificate;
  intermediates: readonly x509.X509Certificate[];
  roots: readonly x509.X509Certificate[];
  now: number;
  crypto: Crypto;
}

const MAX_DEPTH = 6;

/** The path found: `cert`, the intermediates used, and the root last. */
export type ChainResult = { ok: true; path: x509.X509Certificate[] } | Refusal;

export async function verifyChain(opts: VerifyChainOptions): Promise<ChainResult> {
  const { roots, intermediates, now, crypto } = opts;
  const path = [opts.cert];
  let current = opts.cert;
  for (let depth = 0; depth < MAX_DEPTH; depth++) {
    const expired = checkValidity(current, now);
    if (expired) return expired;
    if (depth > 0 && !isCa(current)) {
      return refuse("chain-untrusted", `${describe(current)} signs certificates but is not a CA`);
    }
    if (roots.some((root) => sameBytes(root.rawData, current.rawData))) return { ok: true, path };
    const issuerName = current.issuer;
    let next: x509.X509Certificate | undefined;
    for (const candidate of [...roots, ...intermediates]) {
      if (candidate.subject !== issuerName) continue;
      const signed = await current.verify({ publicKey: candidate.publicKey, signatureOnly: true }, crypto);
      if (signed) {
        next = candidate;
        break;
      }
    }
    if (!next) {
      return refuse(
        "chain-untrusted",
        `${describe(current)} is not signed by any trusted root or given intermediate (issuer "${issuerName}"); ` +
          "it comes from a foreign CA or the chain is incomplete",
      );
    }
    path.push(next);
    current = next;
  }
  return refuse("chain-untrusted", `no trusted root within ${MAX_DEPTH} certificates`);
}

function checkValidity(cert: x509.X509Certificate, now: number): Refusal | undefined {
  if (now < cert.notBefore.getTime()) {
    return refuse(
      "certificate-expired",
      `${describe(cert)} is not valid before ${cert.notBefore.toISOString()}`,
    );
  }
  if (now > cert.notAfter.getTime()) {
    return refuse("certificate-expired", `${describe(cert)} expired at ${cert.notAfter.toISOString()}`);
  }
  return undefined;
}

/** True when the certificate has basicConstraints cA=true. */
export function isCa(cert: x509.X509Certificate): boolean {
  return cert.getExtension(x509.BasicConstraintsExtension)?.ca === true;
}

function describe(cert: x509.X509Certificate): string {
  return `certificate ${cert.subject ? `"${cert.subject}"` : "(empty subject)"} serial ${cert.serialNumber}`;
}

function sameBytes(a: ArrayBuffer, b: ArrayBuffer): boolean {
  if (a.byteLength !== b.byteLength) return false;
  const x = new Uint8Array(a);
  const y = new Uint8Array(b);
  for (let i = 0; i < x.length; i++) if (x[i] !== y[i]) return false;
  return true;
}
