/**
 * A random positive 128-bit certificate serial (RFC 5280 allows up to 20 octets; CA/B asks for at
 * least 64 random bits). Returned as big-endian bytes with the top bit clear.
 *
 * @example
 * ```ts
 * const serial = randomSerial(crypto); // Uint8Array(16)
 * ```
 */
export function randomSerial(crypto: Crypto): Uint8Array {
  const bytes = crypto.getRandomValues(new Uint8Array(16));
  bytes[0] = (bytes[0]! & 0x7f) | 0x01;
  return bytes;
}

/** Lower-case hex, as `openssl x509 -serial` and @peculiar/x509 `serialNumber` show it. */
export function toHex(bytes: Uint8Array): string {
  return Array.from(bytes, (byte) => byte.toString(16).padStart(2, "0")).join("");
}
