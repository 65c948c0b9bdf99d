/**
 * Counts gRPC messages in a byte stream (gRPC over HTTP/2 framing: a 1-byte compressed flag, a
 * 4-byte big-endian length, then the message), however the stream is cut into chunks. Pure.
 *
 * @example
 * ```ts
 * const count = createGrpcMessageCounter();
 * count.push(Buffer.from([0, 0, 0, 0, 2, 7, 7, 0, 0, 0])); // 1 (a second message has started)
 * count.messages; // 2
 * ```
 */
export function createGrpcMessageCounter(): { push(chunk: Uint8Array): number; readonly messages: number } {
  let messages = 0;
  /** Bytes of the current message's 5-byte prefix seen so far, and its length once known. */
  let prefix: number[] = [];
  let remaining = 0;
  return {
    push(chunk) {
      let completed = 0;
      let i = 0;
      while (i < chunk.length) {
        if (remaining > 0) {
          const take = Math.min(remaining, chunk.length - i);
          remaining -= take;
          i += take;
          if (remaining === 0) completed++;
          continue;
        }
        prefix.push(chunk[i] as number);
        i++;
        if (prefix.length < 5) continue;
        messages++;
        remaining =
          (((prefix[1] as number) << 24) >>> 0) +
          ((prefix[2] as number) << 16) +
          ((prefix[3] as number) << 8) +
          (prefix[4] as number);
        prefix = [];
        if (remaining === 0) completed++;
      }
      return completed;
    },
    get messages() {
      return messages;
    },
  };
}
