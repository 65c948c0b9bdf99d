import { readChildren, readTlv } from "./der.ts";
import { IdentityError } from "./errors.ts";
import { importPrivateKey, sec1ToPkcs8 } from "./key-pair.ts";
import { splitPem } from "./pem.ts";
import { checkTrustDomain } from "./spiffe-id.ts";
import { isCa, verifyChain } from "./verify-chain.ts";
import { x509 } from "./x509.ts";

/**
 * The issuing CA in memory, loaded from PEM material with Istio's plug-in CA file names
 * (`ca-cert.pem`, `ca-key.pem`, `cert-chain.pem`, `root-cert.pem`). Loading checks everything a
 * user can get wrong and names the file and the fix: the key must match `ca-cert.pem`, which must
 * be a CA allowed to sign certificates, valid now, and chain (through `cert-chain.pem`) to a root
 * in `root-cert.pem`. Pure (Web Crypto).
 *
 * @example
 * ```ts
 * const ca = await loadCertificateAuthority(material, { trustDomain: "cluster.local", now: Date.now(), crypto });
 * ca.rootsPem; // what workloads and proxies trust
 * ```
 */
export interface CaMaterial {
  /** `ca-cert.pem`: the certificate that signs workload certificates. */
  caCertPem: string;
  /** `ca-key.pem`: its private key, PKCS#8 (`PRIVATE KEY`) or SEC1 (`EC PRIVATE KEY`), P-256. */
  caKeyPem: string;
  /** `cert-chain.pem`: `ca-cert.pem` and any intermediates above it (the root may be included). */
  certChainPem: string;
  /** `root-cert.pem`: one or more trusted roots (several during a root rotation). */
  rootCertPem: string;
}

export interface CertificateAuthority {
  trustDomain: string;
  signingCert: x509.X509Certificate;
  signingKey: CryptoKey;
  /** The signing certificate and the intermediates above it, without the root. */
  chain: x509.X509Certificate[];
  /** `chain` as PEM, appended to every workload certificate. */
  chainPem: string;
  roots: x509.X509Certificate[];
  rootsPem: string;
  /** DER of the signing certificate's subject: the issuer of every workload certificate. */
  issuerNameDer: Uint8Array;
  /** The signing certificate's key identifier: the AKI of every workload certificate. */
  authorityKeyId: Uint8Array;
}

export interface LoadCaOptions {
  trustDomain: string;
  now: number;
  crypto: Crypto;
}

const invalid = (message: string, cause?: unknown) =>
  new IdentityError("ca-invalid", message, { user: true, ...(cause === undefined ? {} : { cause }) });

function parseCertificates(pem: string, file: string): x509.X509Certificate[] {
  const blocks = splitPem(pem).filter((block) => block.label === "CERTIFICATE");
  try {
    return blocks.map((block) => new x509.X509Certificate(block.der as BufferSource));
  } catch (err) {
    throw invalid(`${file}: a CERTIFICATE block does not parse as X.509; replace the file`, err);
  }
}

async function importCaKey(pem: string, crypto: Crypto): Promise<CryptoKey> {
  const block = splitPem(pem)[0];
  if (!block || (block.label !== "PRIVATE KEY" && block.label !== "EC PRIVATE KEY")) {
    throw invalid("ca-key.pem: expected a PEM `PRIVATE KEY` (PKCS#8) or `EC PRIVATE KEY` (SEC1) block");
  }
  try {
    return await importPrivateKey(
      crypto,
      block.label === "EC PRIVATE KEY" ? sec1ToPkcs8(block.der) : block.der,
    );
  } catch (err) {
    throw invalid("ca-key.pem: not an ECDSA P-256 private key (Jibe's CA signs with P-256)", err);
  }
}

async function keyMatches(cert: x509.X509Certificate, key: CryptoKey, crypto: Crypto): Promise<boolean> {
  const probe = crypto.getRandomValues(new Uint8Array(32));
  const algorithm = { name: "ECDSA", hash: "SHA-256" };
  const signature = await crypto.subtle.sign(algorithm, key, probe);
  const publicKey = await cert.publicKey.export({ name: "ECDSA", namedCurve: "P-256" }, ["verify"], crypto);
  return crypto.subtle.verify(algorithm, publicKey, signature, probe);
}

/** The key identifier of a CA certificate: its SKI extension, else SHA-1 of its public key. */
async function keyIdentifier(cert: x509.X509Certificate, crypto: Crypto): Promise<Uint8Array> {
  const ski = cert.getExtension(x509.SubjectKeyIdentifierExtension);
  if (ski) return hexToBytes(ski.keyId);
  const created = await x509.SubjectKeyIdentifierExtension.create(cert.publicKey, false, crypto);
  return hexToBytes(created.keyId);
}

function hexToBytes(hex: string): Uint8Array {
  return new Uint8Array((hex.match(/../g) ?? []).map((byte) => Number.parseInt(byte, 16)));
}

/** The DER of a certificate's subject Name (4th/6th element of the TBSCertificate). */
function subjectNameDer(cert: x509.X509Certificate): Uint8Array {
  const certificate = readTlv(new Uint8Array(cert.rawData), 0);
  const tbs = readChildren(readChildren(certificate.content)[0]!.content);
  const offset = tbs[0]?.tag === 0xa0 ? 1 : 0; // explicit [0] version present
  const subject = tbs[offset + 4];
  if (!subject) throw invalid("ca-cert.pem: certificate has no subject");
  return subject.der;
}

/** Loads and checks CA material; throws `IdentityError("ca-invalid")` naming the file and the fix. */
export async function loadCertificateAuthority(
  material: CaMaterial,
  opts: LoadCaOptions,
): Promise<CertificateAuthority> {
  const { crypto, now, trustDomain } = opts;
  const problem = checkTrustDomain(trustDomain);
  if (problem) throw invalid(`trust domain ${JSON.stringify(trustDomain)}: ${problem}`);
  const [signingCert] = parseCertificates(material.caCertPem, "ca-cert.pem");
  if (!signingCert) throw invalid("ca-cert.pem: no CERTIFICATE block found");
  const roots = parseCertificates(material.rootCertPem, "root-cert.pem");
  if (roots.length === 0) throw invalid("root-cert.pem: no CERTIFICATE block found");
  const chainCerts = parseCertificates(material.certChainPem, "cert-chain.pem");

  if (!isCa(signingCert)) throw invalid("ca-cert.pem: basicConstraints CA is not true; use a CA certificate");
  const usage = signingCert.getExtension(x509.KeyUsagesExtension);
  if (usage && (usage.usages & x509.KeyUsageFlags.keyCertSign) === 0) {
    throw invalid("ca-cert.pem: keyUsage lacks keyCertSign; reissue it with keyCertSign");
  }
  const signingKey = await importCaKey(material.caKeyPem, crypto);
  if (!(await keyMatches(signingCert, signingKey, crypto))) {
    throw invalid("ca-key.pem does not belong to ca-cert.pem; give the key the certificate was issued for");
  }
  const verified = await verifyChain({ cert: signingCert, intermediates: chainCerts, roots, now, crypto });
  if (!verified.ok) {
    throw invalid(`ca-cert.pem does not chain to root-cert.pem through cert-chain.pem: ${verified.message}`);
  }
  const chain = verified.path.slice(0, -1);
  return {
    trustDomain,
    signingCert,
    signingKey,
    chain,
    chainPem: chain
      .map((cert) => cert.toString("pem"))
      .join("\n")
      .concat("\n"),
    roots,
    rootsPem: roots
      .map((cert) => cert.toString("pem"))
      .join("\n")
      .concat("\n"),
    issuerNameDer: subjectNameDer(signingCert),
    authorityKeyId: await keyIdentifier(signingCert, crypto),
  };
}
