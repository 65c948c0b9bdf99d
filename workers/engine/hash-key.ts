import type { ConsistentHashPolicy } from "../../control/compile/snapshot.ts";
import { hash32 } from "./hash-ring.ts";

/** What the hash key of a request is read from. Header names are lower-case. */
export interface HashKeyInput {
  headers: Readonly<Record<string, string | undefined>>;
  /** Path with the query string. */
  path: string;
  /** The caller's IP address (TCP peer in the sidecar, `cf-connecting-ip` at the edge). */
  sourceIp?: string;
  /**
   * Identifies the downstream connection (e.g. remote + local address); a generated cookie's value
   * is derived from it, so racing requests on one connection get the same cookie (Envoy).
   */
  connectionId?: string;
}

/** A request's hash key, and the `Set-Cookie` to send back when the cookie was generated. */
export interface HashKey {
  /** Undefined when the request carries no key: the proxy then picks at random (Envoy). */
  key?: string;
  setCookie?: string;
}

/**
 * Reads the consistent-hash key of a request: a header, a cookie, the source IP or a query
 * parameter. A missing cookie with a `ttl` is generated as Envoy does: a hex hash of the
 * connection, sent back `name="value"; Max-Age=<ttl s>; Path=<path>; HttpOnly` (no `Max-Age` for
 * ttl 0, a session cookie).
 *
 * @example
 * ```ts
 * hashKeyOf({ key: { kind: "header", name: "x-user" }, minimumRingSize: 1024 }, { headers: { "x-user": "a" }, path: "/" });
 * // { key: "a" }
 * ```
 */
export function hashKeyOf(policy: ConsistentHashPolicy, input: HashKeyInput): HashKey {
  const source = policy.key;
  switch (source.kind) {
    case "header": {
      const value = input.headers[source.name];
      return value === undefined ? {} : { key: value };
    }
    case "cookie": {
      const value = cookieValue(input.headers.cookie, source.name);
      if (value !== undefined) return { key: value };
      if (source.ttlMs === undefined) return {};
      const generated = hex64(input.connectionId ?? input.sourceIp ?? "");
      const maxAge = Math.floor(source.ttlMs / 1000);
      const parts = [`${source.name}="${generated}"`];
      if (maxAge > 0) parts.push(`Max-Age=${maxAge}`);
      if (source.path) parts.push(`Path=${source.path}`);
      for (const a of source.attributes ?? [])
        parts.push(a.value === undefined ? a.name : `${a.name}=${a.value}`);
      parts.push("HttpOnly");
      return { key: generated, setCookie: parts.join("; ") };
    }
    case "sourceIp":
      return input.sourceIp ? { key: input.sourceIp } : {};
    case "queryParameter": {
      const q = input.path.indexOf("?");
      if (q < 0) return {};
      const value = new URLSearchParams(input.path.slice(q + 1)).get(source.name);
      return value === null ? {} : { key: value };
    }
    default: {
      const _exhaustive: never = source;
      return _exhaustive;
    }
  }
}

function cookieValue(header: string | undefined, name: string): string | undefined {
  if (!header) return undefined;
  for (const part of header.split(";")) {
    const eq = part.indexOf("=");
    if (eq < 0 || part.slice(0, eq).trim() !== name) continue;
    const value = part.slice(eq + 1).trim();
    return value.length >= 2 && value.startsWith('"') && value.endsWith('"') ? value.slice(1, -1) : value;
  }
  return undefined;
}

function hex64(text: string): string {
  const hi = hash32(text);
  const lo = hash32(`${text}\u0000${hi}`);
  return hi.toString(16).padStart(8, "0") + lo.toString(16).padStart(8, "0");
}
