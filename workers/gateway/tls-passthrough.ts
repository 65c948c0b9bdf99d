import type { Socket } from "node:net";
import type { Logger } from "../../broker/logger.ts";
import { clusterName } from "../../control/compile/clusters.ts";
import { hostMatches } from "../../control/compile/host-names.ts";
import type { GatewayServerConfig, WeightedCluster } from "../../control/compile/snapshot.ts";
import type { TcpForwardRequest } from "./tcp-forward.ts";

/** What {@link createTlsPassthrough} needs. */
export interface TlsPassthroughDeps {
  /** The L4 data path (`createTcpForward`). */
  forward: (socket: Socket, request: TcpForwardRequest) => void;
  log: Logger;
}

/**
 * The cluster an AUTO_PASSTHROUGH SNI names, in Istio's SNI-DNAT form
 * `outbound_.<port>_.<subset>_.<host>` (empty subset: `outbound_.9080_._.reviews.default.svc.cluster.local`).
 *
 * @example
 * ```ts
 * autoPassthroughTarget("outbound_.9080_.v2_.reviews.default.svc.cluster.local");
 * // { host: "reviews.default.svc.cluster.local", cluster: "outbound|9080|v2|reviews.default.svc.cluster.local" }
 * ```
 */
export function autoPassthroughTarget(serverName: string): { host: string; cluster: string } | undefined {
  const parsed = /^outbound_\.(\d{1,5})_\.([^_]*)_\.(.+)$/.exec(serverName.toLowerCase());
  if (!parsed) return undefined;
  const [, port, subset, host] = parsed as unknown as [string, string, string, string];
  return { host, cluster: clusterName(Number(port), subset || undefined, host) };
}

/**
 * A PASSTHROUGH or AUTO_PASSTHROUGH server's data path: the connection's TLS stream, ClientHello
 * included, goes untouched to an endpoint, so the client completes its handshake with the backend.
 * PASSTHROUGH: the destinations of the first VirtualService `tls` route whose `sniHosts` match the
 * SNI (weights as in HTTP routes). AUTO_PASSTHROUGH (Istio's multi-network east-west gateway): the
 * cluster the SNI names (`outbound_.<port>_.<subset>_.<host>`, {@link autoPassthroughTarget}) when
 * its host is among the server's hosts, no VirtualService needed. No SNI, no route or no endpoint
 * closes the connection.
 *
 * @example
 * ```ts
 * const passthrough = createTlsPassthrough({ forward: createTcpForward(deps), log });
 * passthrough(socket, clientHelloBytes, server, "db.example.com");
 * ```
 */
export function createTlsPassthrough(
  deps: TlsPassthroughDeps,
): (socket: Socket, hello: Buffer, server: GatewayServerConfig, serverName: string | undefined) => void {
  return (socket, hello, server, serverName) => {
    const refuse = (why: string) => {
      deps.log.debug(`gateway passthrough ${server.origin} (SNI ${serverName ?? "none"}): ${why}`);
      socket.destroy();
    };
    if (!serverName) return refuse(`a ${server.tls?.mode} server routes by SNI and the client sent none`);
    let origin: string;
    let destinations: WeightedCluster[];
    if (server.tls?.mode === "AUTO_PASSTHROUGH") {
      const target = autoPassthroughTarget(serverName);
      if (!target) return refuse("not an outbound_.<port>_.<subset>_.<host> SNI");
      if (!server.hosts.some((h) => hostMatches(h, target.host)))
        return refuse(`host ${target.host} is not among the server's hosts`);
      origin = server.origin;
      destinations = [{ cluster: target.cluster, weight: 100 }];
    } else {
      const route = server.sniRoutes?.find((r) => r.sniHosts.some((h) => hostMatches(h, serverName)));
      if (!route) return refuse("no VirtualService tls route matches");
      origin = route.origin;
      destinations = route.destinations;
    }
    deps.forward(socket, { origin, destinations, authority: serverName, head: hello });
  };
}
