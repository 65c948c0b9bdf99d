/**
 * IP addresses and CIDR blocks as AuthorizationPolicy uses them (`ipBlocks`, `source.ip`...):
 * `10.1.2.3`, `10.0.0.0/8`, `2001:db8::1`, `2001:db8::/32`. Parsed to bytes so matching is a
 * prefix comparison. Pure; shared by validation (control/model) and evaluation (workers/engine).
 */

/** A parsed address or block: the address bytes (4 or 16) and how many leading bits must match. */
export interface IpBlock {
  bytes: Uint8Array;
  prefix: number;
}

const IPV4_PART = /^(25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)$/;

/** Parses an IPv4 or IPv6 address to its bytes; IPv4-mapped IPv6 (`::ffff:1.2.3.4`) becomes IPv4. */
export function parseIpAddress(text: string): Uint8Array | undefined {
  if (text.includes(":")) {
    const v6 = parseIpv6(text.startsWith("[") && text.endsWith("]") ? text.slice(1, -1) : text);
    if (v6 && isV4Mapped(v6)) return v6.slice(12);
    return v6;
  }
  return parseIpv4(text);
}

/**
 * Parses `address` or `address/prefix`. A bare address is a full-length block.
 *
 * @example
 * ```ts
 * parseIpBlock("10.0.0.0/8")?.prefix; // 8
 * parseIpBlock("10.0.0.0/33");        // undefined
 * ```
 */
export function parseIpBlock(text: string): IpBlock | undefined {
  const slash = text.indexOf("/");
  const address = slash === -1 ? text : text.slice(0, slash);
  const bytes = address.includes(":") ? parseIpv6(address) : parseIpv4(address);
  if (!bytes) return undefined;
  if (slash === -1) return { bytes, prefix: bytes.length * 8 };
  const prefixText = text.slice(slash + 1);
  if (!/^\d{1,3}$/.test(prefixText)) return undefined;
  const prefix = Number(prefixText);
  if (prefix > bytes.length * 8) return undefined;
  return { bytes, prefix };
}

/** True when `address` (bytes from {@link parseIpAddress}) lies in `block`. */
export function ipBlockContains(block: IpBlock, address: Uint8Array): boolean {
  if (block.bytes.length !== address.length) return false;
  const full = block.prefix >> 3;
  for (let i = 0; i < full; i++) if (block.bytes[i] !== address[i]) return false;
  const rest = block.prefix & 7;
  if (rest === 0) return true;
  const mask = (0xff << (8 - rest)) & 0xff;
  return ((block.bytes[full] ?? 0) & mask) === ((address[full] ?? 0) & mask);
}

function parseIpv4(text: string): Uint8Array | undefined {
  const parts = text.split(".");
  if (parts.length !== 4 || !parts.every((p) => IPV4_PART.test(p))) return undefined;
  return Uint8Array.from(parts.map(Number));
}

function parseIpv6(text: string): Uint8Array | undefined {
  let body = text;
  const zone = body.indexOf("%");
  if (zone !== -1) body = body.slice(0, zone);
  const lastColon = body.lastIndexOf(":");
  const last = body.slice(lastColon + 1);
  if (last.includes(".")) {
    // `::ffff:1.2.3.4`: the dotted quad is the last two groups.
    const v4 = parseIpv4(last);
    if (!v4) return undefined;
    const hex = (a: number, b: number) => ((a << 8) | b).toString(16);
    body = `${body.slice(0, lastColon + 1)}${hex(v4[0]!, v4[1]!)}:${hex(v4[2]!, v4[3]!)}`;
  }
  const halves = body.split("::");
  if (halves.length > 2) return undefined;
  const parse = (s: string) => (s === "" ? [] : s.split(":"));
  const head = parse(halves[0] ?? "");
  const after = halves.length === 2 ? parse(halves[1] ?? "") : [];
  const groups = [...head, ...after];
  if (!groups.every((g) => /^[0-9a-fA-F]{1,4}$/.test(g))) return undefined;
  if (halves.length === 1 ? groups.length !== 8 : groups.length > 7) return undefined;
  const words = [
    ...head.map((g) => Number.parseInt(g, 16)),
    ...new Array<number>(8 - groups.length).fill(0),
    ...after.map((g) => Number.parseInt(g, 16)),
  ];
  const bytes = new Uint8Array(16);
  words.forEach((w, i) => {
    bytes[i * 2] = w >> 8;
    bytes[i * 2 + 1] = w & 0xff;
  });
  return bytes;
}

function isV4Mapped(bytes: Uint8Array): boolean {
  for (let i = 0; i < 10; i++) if (bytes[i] !== 0) return false;
  return bytes[10] === 0xff && bytes[11] === 0xff;
}
