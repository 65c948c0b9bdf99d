import type { TrafficCapture } from "./traffic-capture.ts";

/**
 * The `iptables-restore` input (nat table) that captures a Pod's traffic into its proxy, in the
 * order Istio's istio-iptables uses. Pure; the init container feeds it to `iptables-restore`.
 * Without `--noflush` a restore replaces the whole nat table, so a restarted init container
 * converges to the same rules instead of appending duplicates.
 *
 * Inbound: TCP to captured ports → REDIRECT to the proxy's inbound port, except the proxy's own
 * ports and excluded ones. Outbound: everything the proxy (its UID) sends leaves untouched (no
 * loop); traffic to 127.0.0.1 and excluded ports/ranges too; the rest → REDIRECT to the proxy's
 * outbound port.
 *
 * @example
 * ```ts
 * const rules = renderIptablesRules(readTrafficCapture(pod.metadata?.annotations));
 * // "*nat\n:JIBE_INBOUND - [0:0]\n...\nCOMMIT\n"
 * ```
 */
export function renderIptablesRules(capture: TrafficCapture): string {
  const { proxy } = capture;
  const lines = [
    "*nat",
    ":PREROUTING ACCEPT [0:0]",
    ":INPUT ACCEPT [0:0]",
    ":OUTPUT ACCEPT [0:0]",
    ":POSTROUTING ACCEPT [0:0]",
    ":JIBE_INBOUND - [0:0]",
    ":JIBE_IN_REDIRECT - [0:0]",
    ":JIBE_OUTPUT - [0:0]",
    ":JIBE_REDIRECT - [0:0]",
    `-A JIBE_IN_REDIRECT -p tcp -j REDIRECT --to-ports ${proxy.inboundPort}`,
    `-A JIBE_REDIRECT -p tcp -j REDIRECT --to-ports ${proxy.outboundPort}`,
    ...inboundRules(capture),
    ...outboundRules(capture),
    "COMMIT",
  ];
  return `${lines.join("\n")}\n`;
}

function inboundRules(capture: TrafficCapture): string[] {
  if (capture.inboundPorts !== "*") {
    if (capture.inboundPorts.length === 0) return [];
    return [
      "-A PREROUTING -p tcp -j JIBE_INBOUND",
      ...capture.inboundPorts.map((port) => `-A JIBE_INBOUND -p tcp --dport ${port} -j JIBE_IN_REDIRECT`),
    ];
  }
  return [
    "-A PREROUTING -p tcp -j JIBE_INBOUND",
    ...capture.excludeInboundPorts.map((port) => `-A JIBE_INBOUND -p tcp --dport ${port} -j RETURN`),
    "-A JIBE_INBOUND -p tcp -j JIBE_IN_REDIRECT",
  ];
}

function outboundRules(capture: TrafficCapture): string[] {
  const { uid } = capture.proxy;
  const capturesSomething = capture.outboundIPRanges === "*" || capture.outboundIPRanges.length > 0;
  if (!capturesSomething && capture.outboundPorts.length === 0) return [];
  return [
    "-A OUTPUT -p tcp -j JIBE_OUTPUT",
    ...capture.excludeOutboundPorts.map((port) => `-A JIBE_OUTPUT -p tcp --dport ${port} -j RETURN`),
    // The proxy calling its own Pod IP over lo is inbound traffic for the app (hairpin).
    `-A JIBE_OUTPUT -o lo ! -d 127.0.0.1/32 -m owner --uid-owner ${uid} -j JIBE_IN_REDIRECT`,
    // The app talking to itself over lo (not through the proxy) stays local.
    `-A JIBE_OUTPUT -o lo -m owner ! --uid-owner ${uid} -j RETURN`,
    // What the proxy itself sends must not be captured again (loop).
    `-A JIBE_OUTPUT -m owner --uid-owner ${uid} -j RETURN`,
    "-A JIBE_OUTPUT -d 127.0.0.1/32 -j RETURN",
    ...capture.excludeOutboundIPRanges.map((cidr) => `-A JIBE_OUTPUT -d ${cidr} -j RETURN`),
    ...capture.outboundPorts.map((port) => `-A JIBE_OUTPUT -p tcp --dport ${port} -j JIBE_REDIRECT`),
    ...(capture.outboundIPRanges === "*"
      ? ["-A JIBE_OUTPUT -j JIBE_REDIRECT"]
      : capture.outboundIPRanges.map((cidr) => `-A JIBE_OUTPUT -d ${cidr} -j JIBE_REDIRECT`)),
  ];
}
