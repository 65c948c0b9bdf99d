import { InjectorError } from "./errors.ts";

/**
 * Ports and identity of the injected proxy, fixed as Istio's so existing annotations and
 * NetworkPolicies keep their meaning: 15001 outbound capture, 15006 inbound capture, 15020 status
 * (app-health probes), 15021 health, 15090 metrics, UID/GID 1337.
 */
export const PROXY = {
  outboundPort: 15001,
  inboundPort: 15006,
  statusPort: 15020,
  healthPort: 15021,
  metricsPort: 15090,
  uid: 1337,
} as const;

/** Ports of the proxy itself: never captured inbound. */
export const PROXY_OWN_PORTS: readonly number[] = [PROXY.statusPort, PROXY.healthPort, PROXY.metricsPort];

export const CAPTURE_ANNOTATIONS = {
  includeInboundPorts: "traffic.sidecar.istio.io/includeInboundPorts",
  excludeInboundPorts: "traffic.sidecar.istio.io/excludeInboundPorts",
  includeOutboundPorts: "traffic.sidecar.istio.io/includeOutboundPorts",
  excludeOutboundPorts: "traffic.sidecar.istio.io/excludeOutboundPorts",
  includeOutboundIPRanges: "traffic.sidecar.istio.io/includeOutboundIPRanges",
  excludeOutboundIPRanges: "traffic.sidecar.istio.io/excludeOutboundIPRanges",
} as const;

/**
 * What the init container captures. `"*"` means every port / every destination; an empty list
 * means nothing.
 */
export interface TrafficCapture {
  inboundPorts: "*" | readonly number[];
  excludeInboundPorts: readonly number[];
  outboundPorts: readonly number[];
  excludeOutboundPorts: readonly number[];
  outboundIPRanges: "*" | readonly string[];
  excludeOutboundIPRanges: readonly string[];
  proxy: { inboundPort: number; outboundPort: number; uid: number };
}

/**
 * Reads the capture annotations of a Pod, with Istio's defaults (all inbound ports, all outbound
 * destinations) and the proxy's own ports always excluded inbound. Pure.
 *
 * @throws InjectorError `invalid-annotation` naming the annotation, the bad item and the fix.
 * @example
 * ```ts
 * readTrafficCapture({ "traffic.sidecar.istio.io/excludeOutboundPorts": "3306" }).excludeOutboundPorts; // [3306]
 * ```
 */
export function readTrafficCapture(annotations: Readonly<Record<string, string>> = {}): TrafficCapture {
  const a = CAPTURE_ANNOTATIONS;
  const inbound = annotations[a.includeInboundPorts]?.trim() ?? "*";
  const outboundRanges = annotations[a.includeOutboundIPRanges]?.trim() ?? "*";
  const excludeInbound = readPorts(annotations, a.excludeInboundPorts);
  return {
    inboundPorts:
      inbound === "*"
        ? "*"
        : readPorts(annotations, a.includeInboundPorts).filter(
            (p) => !PROXY_OWN_PORTS.includes(p) && !excludeInbound.includes(p),
          ),
    excludeInboundPorts: unique([...PROXY_OWN_PORTS, ...excludeInbound]),
    outboundPorts: readPorts(annotations, a.includeOutboundPorts),
    excludeOutboundPorts: readPorts(annotations, a.excludeOutboundPorts),
    outboundIPRanges: outboundRanges === "*" ? "*" : readRanges(annotations, a.includeOutboundIPRanges),
    excludeOutboundIPRanges: readRanges(annotations, a.excludeOutboundIPRanges),
    proxy: { inboundPort: PROXY.inboundPort, outboundPort: PROXY.outboundPort, uid: PROXY.uid },
  };
}

function items(annotations: Readonly<Record<string, string>>, name: string): string[] {
  return (annotations[name] ?? "")
    .split(",")
    .map((s) => s.trim())
    .filter((s) => s !== "");
}

function readPorts(annotations: Readonly<Record<string, string>>, name: string): number[] {
  return unique(
    items(annotations, name).map((item) => {
      const port = /^\d{1,5}$/.test(item) ? Number(item) : Number.NaN;
      if (!(port >= 1 && port <= 65535)) {
        throw new InjectorError(
          "invalid-annotation",
          `metadata.annotations["${name}"]: "${item}" is not a port; use comma-separated numbers 1-65535${name.includes("include") ? ' or "*"' : ""}`,
        );
      }
      return port;
    }),
  );
}

function readRanges(annotations: Readonly<Record<string, string>>, name: string): string[] {
  return unique(
    items(annotations, name).map((item) => {
      const cidr = item.includes("/") ? item : `${item}/32`;
      if (!isIpv4Cidr(cidr)) {
        throw new InjectorError(
          "invalid-annotation",
          `metadata.annotations["${name}"]: "${item}" is not an IPv4 CIDR; use comma-separated ranges like 10.0.0.0/8`,
        );
      }
      return cidr;
    }),
  );
}

function isIpv4Cidr(cidr: string): boolean {
  const match = /^(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})\/(\d{1,2})$/.exec(cidr);
  if (!match) return false;
  const [, a, b, c, d, bits] = match.map(Number);
  return (
    [a, b, c, d].every((octet) => octet !== undefined && octet <= 255) && bits !== undefined && bits <= 32
  );
}

function unique<T>(values: T[]): T[] {
  return [...new Set(values)];
}
