import { ecdsaDerToRaw, oidToString, readChildren, readTlv, type Tlv } from "./der.ts";
import { type Refusal, refuse } from "./errors.ts";
import { EC_P256, ECDSA_SHA256 } from "./key-pair.ts";
import { splitPem } from "./pem.ts";

/**
 * Reads a workload's PKCS#10 CSR (PEM): it must be ECDSA P-256 signed with SHA-256, its
 * self-signature must verify (proof that the sender holds the private key), and it must request
 * exactly one URI SAN (the SPIFFE ID; anything else in the CSR is ignored, the CA decides the
 * certificate's content). This is the CA's hot path, so it walks the DER itself (RFC 2986) and
 * verifies with Web Crypto directly: through `@peculiar/x509` it cost ~1.4 ms of CPU per CSR,
 * this ~0.3 ms. Pure (Web Crypto).
 *
 * @example
 * ```ts
 * const csr = await readCsr(pem, crypto);
 * if (csr.ok) sign(csr.spiffeId, csr.subjectPublicKeyInfo); else reply(csr.code, csr.message);
 * ```
 */
export type ReadCsrResult = { ok: true; spiffeId: string; subjectPublicKeyInfo: Uint8Array } | Refusal;

const EC_PUBLIC_KEY = "1.2.840.10045.2.1";
const P256 = "1.2.840.10045.3.1.7";
const ECDSA_WITH_SHA256 = "1.2.840.10045.4.3.2";
const EXTENSION_REQUEST = "1.2.840.113549.1.9.14";
const SUBJECT_ALT_NAME = "2.5.29.17";
const URI_NAME = 0x86; // [6] IMPLICIT IA5String
const ascii = new TextDecoder("ascii");

interface ParsedCsr {
  info: Uint8Array;
  spki: Uint8Array;
  keyOids: string[];
  signatureOid: string;
  signature: Uint8Array;
  uris: string[];
}

function oidsOf(algorithm: Tlv | undefined): string[] {
  return readChildren(algorithm?.content ?? new Uint8Array())
    .filter((child) => child.tag === 0x06)
    .map((child) => oidToString(child.content));
}

/** URIs in the SAN of the extensionRequest attribute (tag 0xa0 = attributes [0]). */
function requestedUris(attributes: Tlv | undefined): string[] {
  if (attributes?.tag !== 0xa0) return [];
  for (const attribute of readChildren(attributes.content)) {
    const [type, values] = readChildren(attribute.content);
    if (!type || oidToString(type.content) !== EXTENSION_REQUEST || !values) continue;
    const [extensions] = readChildren(values.content);
    for (const extension of readChildren(extensions?.content ?? new Uint8Array())) {
      const parts = readChildren(extension.content);
      if (!parts[0] || oidToString(parts[0].content) !== SUBJECT_ALT_NAME) continue;
      const value = parts.at(-1);
      if (value?.tag !== 0x04) return [];
      const names = readChildren(readTlv(value.content, 0).content);
      return names.filter((name) => name.tag === URI_NAME).map((name) => ascii.decode(name.content));
    }
  }
  return [];
}

function parseCsr(pem: string): ParsedCsr | undefined {
  const block = splitPem(pem)[0];
  if (!block || (block.label !== "CERTIFICATE REQUEST" && block.label !== "NEW CERTIFICATE REQUEST"))
    return undefined;
  const outer = readTlv(block.der, 0);
  if (outer.tag !== 0x30 || outer.end !== block.der.length) return undefined;
  const [info, signatureAlgorithm, signature] = readChildren(outer.content);
  if (info?.tag !== 0x30 || signature?.tag !== 0x03) return undefined;
  const [version, subject, spki, attributes] = readChildren(info.content);
  if (version?.tag !== 0x02 || subject?.tag !== 0x30 || spki?.tag !== 0x30) return undefined;
  const [keyAlgorithm] = readChildren(spki.content);
  return {
    info: info.der,
    spki: spki.der,
    keyOids: oidsOf(keyAlgorithm),
    signatureOid: oidsOf(signatureAlgorithm)[0] ?? "",
    signature: signature.content.subarray(1),
    uris: requestedUris(attributes),
  };
}

export async function readCsr(pem: string, crypto: Crypto): Promise<ReadCsrResult> {
  let csr: ParsedCsr | undefined;
  try {
    csr = parseCsr(pem);
  } catch {
    csr = undefined;
  }
  if (!csr) return refuse("csr-malformed", "csr: not a PEM PKCS#10 certificate request");
  if (csr.keyOids[0] !== EC_PUBLIC_KEY || csr.keyOids[1] !== P256) {
    return refuse("csr-malformed", "csr: the key must be ECDSA P-256 (generate it with namedCurve P-256)");
  }
  if (csr.signatureOid !== ECDSA_WITH_SHA256) {
    return refuse("csr-malformed", `csr: must be signed with ecdsa-with-SHA256 (${ECDSA_WITH_SHA256})`);
  }
  let valid = false;
  try {
    const raw = ecdsaDerToRaw(csr.signature, 32);
    const key = await crypto.subtle.importKey("spki", csr.spki as BufferSource, EC_P256, false, ["verify"]);
    valid =
      raw !== undefined &&
      (await crypto.subtle.verify(ECDSA_SHA256, key, raw as BufferSource, csr.info as BufferSource));
  } catch {
    valid = false;
  }
  if (!valid) {
    return refuse(
      "csr-invalid-signature",
      "csr: the signature does not verify with the CSR's own public key",
    );
  }
  if (csr.uris.length !== 1 || csr.uris[0] === undefined) {
    return refuse(
      "csr-malformed",
      `csr: expected exactly one URI SAN (the SPIFFE ID), found ${csr.uris.length}`,
    );
  }
  return { ok: true, spiffeId: csr.uris[0], subjectPublicKeyInfo: csr.spki };
}
