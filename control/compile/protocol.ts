/**
 * Protocol selection for Service ports, as Istio's "protocol selection" does it: the port's
 * `appProtocol` first, else the port name `<protocol>[-<suffix>]`. Pure: no I/O.
 *
 * Jibe's rule for what Istio leaves to sniffing (a port whose protocol is not declared): the port is
 * served as HTTP (HTTP/1.1, or HTTP/2 when the client opens with the h2c preface); the sidecar only
 * looks at the first bytes the client sends, which HTTP clients send at once. Protocols that are
 * not HTTP must be declared (`tcp`, `mysql`, `mongo`, `redis`, `tls`, `https`): such ports are
 * proxied as raw TCP with no wait for client bytes, so server-first protocols (MySQL sends its
 * greeting before the client writes anything) work.
 */

/** An Istio protocol name, as `protocol.Instance` spells it. */
export type Protocol =
  | "HTTP"
  | "HTTP2"
  | "GRPC"
  | "GRPC-Web"
  | "HTTPS"
  | "TLS"
  | "TCP"
  | "Mongo"
  | "MySQL"
  | "Redis"
  | "UDP"
  | "Unsupported";

/** How the sidecar serves a port of that protocol. */
export type ListenerProtocol = "http" | "tcp";

const BY_NAME: Readonly<Record<string, Protocol>> = {
  http: "HTTP",
  http_proxy: "HTTP",
  http2: "HTTP2",
  h2c: "HTTP2",
  grpc: "GRPC",
  "grpc-web": "GRPC-Web",
  https: "HTTPS",
  tls: "TLS",
  tcp: "TCP",
  mongo: "Mongo",
  mysql: "MySQL",
  redis: "Redis",
  udp: "UDP",
};

/** Kubernetes' prefixed `appProtocol` values (KEP-3726). */
const KUBERNETES_APP_PROTOCOLS: Readonly<Record<string, Protocol>> = {
  "kubernetes.io/h2c": "HTTP2",
  "kubernetes.io/ws": "HTTP",
  "kubernetes.io/wss": "HTTPS",
};

/** Parses a protocol name case-insensitively (`http2`, `MySQL`); unknown → `Unsupported`. */
export function parseProtocol(name: string): Protocol {
  return BY_NAME[name.toLowerCase()] ?? "Unsupported";
}

/**
 * The protocol of a Service port: `protocol: UDP` → UDP; a known `appProtocol`; else the port
 * name's prefix (`grpc-web` is checked whole before the text up to the first `-`); else
 * `Unsupported` (Istio would sniff; see the module note for Jibe's rule).
 *
 * @example
 * ```ts
 * selectPortProtocol({ name: "mysql-primary", port: 3306 }); // "MySQL"
 * selectPortProtocol({ name: "web", port: 80, appProtocol: "kubernetes.io/h2c" }); // "HTTP2"
 * selectPortProtocol({ name: "grpc-web-ui", port: 8080 }); // "GRPC-Web"
 * ```
 */
export function selectPortProtocol(port: {
  name?: string;
  port: number;
  protocol?: string;
  appProtocol?: string;
}): Protocol {
  if (port.protocol === "UDP") return "UDP";
  if (port.appProtocol) {
    const declared = KUBERNETES_APP_PROTOCOLS[port.appProtocol] ?? parseProtocol(port.appProtocol);
    if (declared !== "Unsupported") return declared;
  }
  const name = (port.name ?? "").toLowerCase();
  if (name.startsWith("grpc-web")) return "GRPC-Web";
  const dash = name.indexOf("-");
  return parseProtocol(dash >= 0 ? name.slice(0, dash) : name);
}

/**
 * How the sidecar serves a protocol: HTTP ones (and undeclared ports) through the HTTP pipeline,
 * everything else as raw TCP. `HTTPS`/`TLS` are passed through untouched (the app terminates TLS).
 */
export function listenerProtocolOf(protocol: Protocol | undefined): ListenerProtocol {
  switch (protocol) {
    case undefined:
    case "HTTP":
    case "HTTP2":
    case "GRPC":
    case "GRPC-Web":
    case "Unsupported":
      return "http";
    case "HTTPS":
    case "TLS":
    case "TCP":
    case "Mongo":
    case "MySQL":
    case "Redis":
    case "UDP":
      return "tcp";
    default: {
      const unknown: never = protocol;
      return unknown;
    }
  }
}

/** Whether requests to a port of this protocol go upstream over HTTP/2 (prior knowledge, h2c). */
export function usesHttp2Upstream(protocol: Protocol | undefined): boolean {
  return protocol === "HTTP2" || protocol === "GRPC";
}

/**
 * The declared protocol of the app port behind a sidecar's inbound listener: the entry for
 * `appPort`, else the one protocol all entries share; undefined when that is not known.
 */
export function inboundPortProtocol(
  ports: Readonly<Record<number, Protocol>> | undefined,
  appPort: number,
): Protocol | undefined {
  if (!ports) return undefined;
  const distinct = new Set(Object.values(ports));
  return ports[appPort] ?? (distinct.size === 1 ? [...distinct][0] : undefined);
}

/**
 * The protocol of the app behind a sidecar's inbound listener: the entry for `appPort` in
 * `Snapshot.inboundProtocols`, else the one protocol class every entry agrees on, else HTTP.
 *
 * @example
 * ```ts
 * inboundListenerProtocol({ 3306: "MySQL" }, 40123); // "tcp" (the only port declared)
 * ```
 */
export function inboundListenerProtocol(
  ports: Readonly<Record<number, Protocol>> | undefined,
  appPort: number,
): ListenerProtocol {
  if (!ports) return "http";
  const exact = ports[appPort];
  if (exact) return listenerProtocolOf(exact);
  const classes = new Set(Object.values(ports).map(listenerProtocolOf));
  return classes.size === 1 && classes.has("tcp") ? "tcp" : "http";
}
