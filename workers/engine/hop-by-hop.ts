/** Headers that describe one connection, not the message (RFC 9110 §7.6.1), plus the proxy ones. */
export const HOP_BY_HOP_HEADERS: readonly string[] = [
  "connection",
  "keep-alive",
  "proxy-connection",
  "proxy-authenticate",
  "proxy-authorization",
  "te",
  "trailer",
  "transfer-encoding",
  "upgrade",
];

/**
 * The lower-case names a proxy must not forward for one message: {@link HOP_BY_HOP_HEADERS}, any
 * header the `Connection` header names, and `extra` (a runtime's own, e.g. Node's `expect`).
 * Pure: the sidecar (Node headers) and the edge worker (`Headers`) both filter with it.
 *
 * @example
 * ```ts
 * const drop = hopByHopNames("close, X-Trace");
 * drop.has("x-trace"); // true
 * drop.has("accept"); // false
 * ```
 */
export function hopByHopNames(
  connection: string | readonly string[] | null | undefined,
  extra: readonly string[] = [],
): ReadonlySet<string> {
  const names = new Set([...HOP_BY_HOP_HEADERS, ...extra]);
  const values = typeof connection === "string" ? [connection] : (connection ?? []);
  for (const value of values) {
    for (const token of value.split(",")) {
      const name = token.trim().toLowerCase();
      if (name) names.add(name);
    }
  }
  return names;
}
