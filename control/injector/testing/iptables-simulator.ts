/**
 * Follows a TCP packet through the nat-table rules of an iptables-restore text (the subset of
 * matches the injector emits), so tests can ask "where does this connection go?" instead of
 * comparing rule strings. Test code only; the real kernel check needs iptables in a netns.
 *
 * @example
 * ```ts
 * routePacket(rules, { hook: "OUTPUT", dport: 80, daddr: "10.0.0.1", uid: 1000 }); // 15001
 * ```
 */
export interface Packet {
  hook: "PREROUTING" | "OUTPUT";
  dport: number;
  daddr: string;
  saddr?: string;
  uid?: number;
  outInterface?: string;
}

/** The port the packet is redirected to, or undefined when it passes untouched. */
export function routePacket(rules: string, packet: Packet): number | undefined {
  const chains = new Map<string, string[][]>();
  for (const line of rules.split("\n")) {
    if (!line.startsWith("-A ")) continue;
    const [, chain = "", ...rest] = line.split(" ");
    chains.set(chain, [...(chains.get(chain) ?? []), rest]);
  }
  const result = walk(chains, packet.hook, packet, 0);
  return result === "return" ? undefined : result;
}

function walk(
  chains: Map<string, string[][]>,
  chain: string,
  packet: Packet,
  depth: number,
): number | undefined | "return" {
  if (depth > 10) throw new Error("jump loop");
  for (const rule of chains.get(chain) ?? []) {
    if (!matches(rule, packet)) continue;
    const target = rule[rule.indexOf("-j") + 1];
    if (target === "RETURN") return "return";
    if (target === "REDIRECT") return Number(rule[rule.indexOf("--to-ports") + 1]);
    const result = walk(chains, target ?? "", packet, depth + 1);
    if (result !== "return") return result;
  }
  return depth === 0 ? undefined : "return";
}

function matches(rule: string[], packet: Packet): boolean {
  for (let i = 0; i < rule.length; i++) {
    const negate = rule[i] === "!";
    const flag = negate ? rule[++i] : rule[i];
    const value = rule[i + 1] ?? "";
    let ok: boolean;
    switch (flag) {
      case "-p":
        ok = value === "tcp";
        break;
      case "--dport":
        ok = packet.dport === Number(value);
        break;
      case "-d":
        ok = inCidr(packet.daddr, value);
        break;
      case "-s":
        ok = inCidr(packet.saddr ?? "10.1.1.1", value);
        break;
      case "-o":
        ok = (packet.outInterface ?? "eth0") === value;
        break;
      case "--uid-owner":
        ok = packet.uid === Number(value);
        break;
      case "-m":
        i++;
        continue;
      case "-j":
      case "--to-ports":
        return true;
      default:
        throw new Error(`simulator does not know ${flag}`);
    }
    if (ok === negate) return false;
    i++;
  }
  return true;
}

function inCidr(address: string, cidr: string): boolean {
  const [base = "", bits = "32"] = cidr.split("/");
  const toInt = (a: string) => a.split(".").reduce((n, octet) => n * 256 + Number(octet), 0);
  const mask = Number(bits) === 0 ? 0 : 2 ** 32 - 2 ** (32 - Number(bits));
  return (toInt(address) & mask) >>> 0 === (toInt(base) & mask) >>> 0;
}
