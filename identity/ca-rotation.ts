import type { CertificateAuthority } from "./certificate-authority.ts";
import { IdentityError } from "./errors.ts";
import type { TrustBundle } from "./trust-bundle.ts";
import type { x509 } from "./x509.ts";

/**
 * Root rotation with an overlap, in three steps so no proxy ever meets a certificate it does not
 * trust yet:
 *
 * 1. `trust(next)`: the bundle lists the old and the new roots; the old CA still signs. Publish
 *    the bundle and wait until every proxy has it.
 * 2. `signWith(next)`: the new intermediate signs; workloads move onto it at their next renewal
 *    (or `rotateNow`). Old and new certificates are both accepted everywhere.
 * 3. `retire()`: once every workload holds a certificate of the new CA (and old ones have expired),
 *    the bundle lists only the new roots.
 *
 * `signingCa()` is what the issuer signs with (its `rootsPem`, sent in CSR replies, is the bundle in
 * force). Pure.
 *
 * @example
 * ```ts
 * const rotation = createCaRotation(oldCa);
 * const issuer = createCertificateIssuer({ ca: rotation.signingCa, authenticator, crypto });
 * await publish(rotation.trust(newCa)); // wait for proxies
 * rotation.signWith(newCa);             // wait for workloads to renew
 * await publish(rotation.retire());
 * ```
 */
export interface CaRotation {
  /** The CA issuing now, with `roots` / `rootsPem` set to the bundle in force. */
  signingCa(): CertificateAuthority;
  /** The trust bundle in force. */
  bundle(): TrustBundle;
  /** Step 1: trust `next`'s roots besides the current ones. */
  trust(next: CertificateAuthority): TrustBundle;
  /** Step 2: sign with `next` (whose roots must be trusted already). */
  signWith(next: CertificateAuthority): void;
  /** Step 3: trust only the signing CA's roots. */
  retire(): TrustBundle;
  /** The roots the signing CA chains to (the bundle lists more during an overlap). */
  signingRoots(): x509.X509Certificate[];
}

export function createCaRotation(initial: CertificateAuthority): CaRotation {
  let signing = initial;
  let roots: x509.X509Certificate[] = [...initial.roots];
  const bundle = (): TrustBundle => ({ trustDomain: signing.trustDomain, rootsPem: pemOf(roots) });
  const check = (next: CertificateAuthority) => {
    if (next.trustDomain !== signing.trustDomain) {
      throw new IdentityError(
        "ca-invalid",
        `the new CA is for trust domain ${next.trustDomain}, the mesh is ${signing.trustDomain}; a root rotation keeps the trust domain`,
        { user: true },
      );
    }
  };
  return {
    signingCa: () => ({ ...signing, roots, rootsPem: pemOf(roots) }),
    bundle,
    trust(next) {
      check(next);
      roots = uniqueRoots([...roots, ...next.roots]);
      return bundle();
    },
    signWith(next) {
      check(next);
      const trusted = new Set(roots.map((root) => root.toString("base64")));
      if (!next.roots.some((root) => trusted.has(root.toString("base64")))) {
        throw new IdentityError(
          "ca-invalid",
          "the new CA's root is not in the trust bundle yet; call trust(next) and let proxies get the bundle first",
          { user: true },
        );
      }
      signing = next;
    },
    retire() {
      roots = [...signing.roots];
      return bundle();
    },
    signingRoots: () => [...signing.roots],
  };
}

/**
 * A rotation resumed from CA material whose `root-cert.pem` lists several roots (a restart during
 * an overlap): the root the signing chain leads to is the signing CA's, the others are trusted
 * besides it, so `retire()` later keeps only the right one.
 *
 * @example
 * ```ts
 * const rotation = await resumeCaRotation(loaded.ca, crypto); // bundle: both roots; retire(): the anchor
 * ```
 */
export async function resumeCaRotation(ca: CertificateAuthority, crypto: Crypto): Promise<CaRotation> {
  if (ca.roots.length < 2) return createCaRotation(ca);
  const top = ca.chain.at(-1) ?? ca.signingCert;
  const anchors: x509.X509Certificate[] = [];
  const others: x509.X509Certificate[] = [];
  for (const root of ca.roots) {
    const signed = await top.verify({ publicKey: root.publicKey, signatureOnly: true }, crypto);
    (signed ? anchors : others).push(root);
  }
  if (anchors.length === 0) return createCaRotation(ca);
  const rotation = createCaRotation({ ...ca, roots: anchors, rootsPem: pemOf(anchors) });
  if (others.length > 0) rotation.trust({ ...ca, roots: others, rootsPem: pemOf(others) });
  return rotation;
}

function uniqueRoots(certs: x509.X509Certificate[]): x509.X509Certificate[] {
  const seen = new Set<string>();
  return certs.filter((cert) => {
    const key = cert.toString("base64");
    if (seen.has(key)) return false;
    seen.add(key);
    return true;
  });
}

function pemOf(certs: x509.X509Certificate[]): string {
  return certs
    .map((cert) => cert.toString("pem"))
    .join("\n")
    .concat("\n");
}
