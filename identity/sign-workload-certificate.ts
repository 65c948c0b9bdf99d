import type { CertificateAuthority } from "./certificate-authority.ts";
import {
  derBitString,
  derBoolean,
  derOctetString,
  derOid,
  derSequence,
  derTime,
  derTlv,
  derUnsignedInteger,
  ecdsaRawToDer,
  readChildren,
  readTlv,
} from "./der.ts";
import { ECDSA_SHA256 } from "./key-pair.ts";
import { toPem } from "./pem.ts";
import { randomSerial, toHex } from "./serial-number.ts";

/**
 * Signs a workload certificate (X.509-SVID) with the CA's signing key:
 *
 * - subject empty, so the SAN is critical (RFC 5280 §4.2.1.6), exactly one URI SAN: the SPIFFE ID
 * - basicConstraints CA:FALSE (critical); keyUsage digitalSignature (critical);
 *   extKeyUsage serverAuth + clientAuth; SKI of the workload key; AKI of the CA
 * - ecdsa-with-SHA256, random 128-bit serial
 *
 * The TBSCertificate is assembled directly in DER (a few fixed templates plus the varying
 * fields): the generic encoder made signing ~10× slower, and this is the CA's hot path. Inputs
 * are already validated by the issuer. Pure (Web Crypto).
 *
 * @example
 * ```ts
 * const { pem, serial } = await signWorkloadCertificate({ ca, spiffeId, subjectPublicKeyInfo,
 *   notBefore: new Date(now), notAfter: new Date(now + 86_400_000), crypto });
 * ```
 */
export interface SignWorkloadOptions {
  ca: CertificateAuthority;
  spiffeId: string;
  /** DER SubjectPublicKeyInfo of the workload key (from its CSR). */
  subjectPublicKeyInfo: Uint8Array;
  notBefore: Date;
  notAfter: Date;
  crypto: Crypto;
}

export interface SignedCertificate {
  der: Uint8Array;
  pem: string;
  /** Lower-case hex. */
  serial: string;
}

const ECDSA_WITH_SHA256 = derSequence(derOid("1.2.840.10045.4.3.2"));
const VERSION_3 = derTlv(0xa0, derUnsignedInteger(new Uint8Array([2])));
const EMPTY_NAME = derSequence();
const CRITICAL = derBoolean(true);
const BASIC_CONSTRAINTS_LEAF = derSequence(derOid("2.5.29.19"), CRITICAL, derOctetString(derSequence()));
// digitalSignature is bit 0: one content byte 0x80 with 7 unused bits.
const KEY_USAGE_DIGITAL_SIGNATURE = derSequence(
  derOid("2.5.29.15"),
  CRITICAL,
  derOctetString(derTlv(0x03, new Uint8Array([0x07, 0x80]))),
);
const EXT_KEY_USAGE_SERVER_CLIENT = derSequence(
  derOid("2.5.29.37"),
  derOctetString(derSequence(derOid("1.3.6.1.5.5.7.3.1"), derOid("1.3.6.1.5.5.7.3.2"))),
);
const SKI_OID = derOid("2.5.29.14");
const AKI_OID = derOid("2.5.29.35");
const SAN_OID = derOid("2.5.29.17");
const utf8 = new TextEncoder();

/** RFC 5280 §4.2.1.2 method 1: SHA-1 of the subjectPublicKey BIT STRING value. */
async function subjectKeyId(spki: Uint8Array, crypto: Crypto): Promise<Uint8Array> {
  const [, bitString] = readChildren(readTlv(spki, 0).content);
  if (bitString?.tag !== 0x03) throw new Error("SubjectPublicKeyInfo without a BIT STRING");
  const key = bitString.content.subarray(1);
  return new Uint8Array(await crypto.subtle.digest("SHA-1", key as BufferSource));
}

export async function signWorkloadCertificate(opts: SignWorkloadOptions): Promise<SignedCertificate> {
  const { ca, crypto } = opts;
  const serial = randomSerial(crypto);
  const extensions = derTlv(
    0xa3,
    derSequence(
      BASIC_CONSTRAINTS_LEAF,
      KEY_USAGE_DIGITAL_SIGNATURE,
      EXT_KEY_USAGE_SERVER_CLIENT,
      derSequence(
        SKI_OID,
        derOctetString(derOctetString(await subjectKeyId(opts.subjectPublicKeyInfo, crypto))),
      ),
      derSequence(AKI_OID, derOctetString(derSequence(derTlv(0x80, ca.authorityKeyId)))),
      derSequence(SAN_OID, CRITICAL, derOctetString(derSequence(derTlv(0x86, utf8.encode(opts.spiffeId))))),
    ),
  );
  const tbs = derSequence(
    VERSION_3,
    derUnsignedInteger(serial),
    ECDSA_WITH_SHA256,
    ca.issuerNameDer,
    derSequence(derTime(opts.notBefore), derTime(opts.notAfter)),
    EMPTY_NAME,
    opts.subjectPublicKeyInfo,
    extensions,
  );
  const raw = new Uint8Array(await crypto.subtle.sign(ECDSA_SHA256, ca.signingKey, tbs as BufferSource));
  const der = derSequence(tbs, ECDSA_WITH_SHA256, derBitString(ecdsaRawToDer(raw)));
  return { der, pem: toPem("CERTIFICATE", der), serial: toHex(serial) };
}
