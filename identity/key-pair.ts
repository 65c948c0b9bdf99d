import { derOctetString, derOid, derSequence, derUnsignedInteger } from "./der.ts";
import { toPem } from "./pem.ts";

/**
 * ECDSA P-256 keys with Web Crypto (Node and workerd). CA keys are generated extractable only so
 * the node adapter can persist them; workload keys so node:tls can use them. Neither ever leaves
 * its process through this package.
 *
 * @example
 * ```ts
 * const keys = await generateEcKeyPair(crypto);
 * const pem = await exportPrivateKeyPem(crypto, keys.privateKey); // PKCS#8
 * ```
 */
export const EC_P256: EcKeyGenParams = { name: "ECDSA", namedCurve: "P-256" };
/** The signature algorithm of every Jibe certificate and CSR: ecdsa-with-SHA256. */
export const ECDSA_SHA256: EcdsaParams = { name: "ECDSA", hash: "SHA-256" };
/** Parameters @peculiar/x509 wants (curve + hash together). */
export const X509_SIGNING_ALGORITHM = { name: "ECDSA", namedCurve: "P-256", hash: "SHA-256" };

export function generateEcKeyPair(crypto: Crypto): Promise<CryptoKeyPair> {
  return crypto.subtle.generateKey(EC_P256, true, ["sign", "verify"]) as Promise<CryptoKeyPair>;
}

/** PKCS#8 PEM (`PRIVATE KEY`) of an extractable private key. */
export async function exportPrivateKeyPem(crypto: Crypto, key: CryptoKey): Promise<string> {
  return toPem("PRIVATE KEY", await crypto.subtle.exportKey("pkcs8", key));
}

/** Imports a PKCS#8 P-256 private key for signing (not extractable). */
export function importPrivateKey(crypto: Crypto, pkcs8: Uint8Array): Promise<CryptoKey> {
  return crypto.subtle.importKey("pkcs8", pkcs8 as BufferSource, EC_P256, false, ["sign"]);
}

/**
 * Wraps a SEC1 `EC PRIVATE KEY` (what `openssl ecparam -genkey` writes, common for plug-in CA keys)
 * into PKCS#8, the only EC private-key format Web Crypto imports.
 */
export function sec1ToPkcs8(sec1: Uint8Array): Uint8Array {
  return derSequence(
    derUnsignedInteger(new Uint8Array([0])),
    derSequence(derOid("1.2.840.10045.2.1"), derOid("1.2.840.10045.3.1.7")),
    derOctetString(sec1),
  );
}
