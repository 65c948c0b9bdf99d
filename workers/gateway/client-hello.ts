/** What the first TLS record of a connection says, read without terminating TLS. */
export type ClientHelloPeek =
  /** More bytes are needed to read the whole first record. */
  | { kind: "incomplete" }
  /** Not a TLS ClientHello (plaintext, garbage, or a record too large to be one). */
  | { kind: "notTls" }
  /** A ClientHello; `serverName` is its SNI (lower-case), absent when the client sent none. */
  | { kind: "clientHello"; serverName?: string };

const HANDSHAKE_RECORD = 0x16;
const CLIENT_HELLO = 0x01;
const SERVER_NAME_EXTENSION = 0x0000;
const HOST_NAME = 0x00;
/** TLS records carry at most 2^14 bytes of plaintext (RFC 8446 §5.1), plus a little slack. */
const MAX_RECORD = 16_384 + 256;

/**
 * Reads the SNI of a TLS ClientHello from the first bytes of a connection (RFC 8446 §4.1.2,
 * RFC 6066 §3), as Envoy's `tls_inspector` does, so a PASSTHROUGH gateway server can route the
 * still-encrypted stream and a terminating one can pick the server by name before the handshake.
 * Only the first record is read: a ClientHello split over several records reads as without SNI.
 *
 * @example
 * ```ts
 * peekClientHello(firstBytes); // { kind: "clientHello", serverName: "shop.example.com" }
 * ```
 */
export function peekClientHello(data: Buffer): ClientHelloPeek {
  if (data.length < 1) return { kind: "incomplete" };
  if (data[0] !== HANDSHAKE_RECORD) return { kind: "notTls" };
  if (data.length < 5) return { kind: "incomplete" };
  const recordLength = data.readUInt16BE(3);
  if (recordLength > MAX_RECORD) return { kind: "notTls" };
  if (data.length < 5 + recordLength) return { kind: "incomplete" };
  const record = data.subarray(5, 5 + recordLength);
  if (record[0] !== CLIENT_HELLO || record.length < 4) return { kind: "notTls" };
  try {
    return { kind: "clientHello", ...serverNameOf(record) };
  } catch {
    // A truncated or malformed ClientHello: let the TLS stack (or the refusal) deal with it.
    return { kind: "clientHello" };
  }
}

/** Walks the ClientHello body to the server_name extension; throws (RangeError) when truncated. */
function serverNameOf(handshake: Buffer): { serverName?: string } {
  let at = 4; // handshake type (1) + length (3)
  at += 2 + 32; // legacy_version, random
  at += 1 + handshake.readUInt8(at); // legacy_session_id
  at += 2 + handshake.readUInt16BE(at); // cipher_suites
  at += 1 + handshake.readUInt8(at); // legacy_compression_methods
  if (at + 2 > handshake.length) return {};
  const end = Math.min(handshake.length, at + 2 + handshake.readUInt16BE(at));
  at += 2;
  while (at + 4 <= end) {
    const type = handshake.readUInt16BE(at);
    const length = handshake.readUInt16BE(at + 2);
    at += 4;
    if (type === SERVER_NAME_EXTENSION) {
      let entry = at + 2; // server_name_list length
      const listEnd = Math.min(at + length, entry + handshake.readUInt16BE(at));
      while (entry + 3 <= listEnd) {
        const nameType = handshake.readUInt8(entry);
        const nameLength = handshake.readUInt16BE(entry + 1);
        entry += 3;
        if (nameType === HOST_NAME && entry + nameLength <= listEnd)
          return { serverName: handshake.toString("ascii", entry, entry + nameLength).toLowerCase() };
        entry += nameLength;
      }
      return {};
    }
    at += length;
  }
  return {};
}
