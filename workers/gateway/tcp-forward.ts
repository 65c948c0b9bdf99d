import type { Duplex } from "node:stream";
import type { Snapshot, WeightedCluster } from "../../control/compile/snapshot.ts";
import { pickEndpoint, pickWeighted } from "../engine/index.ts";
import type { TcpUpstreamDeps } from "../sidecar/tcp-outbound.ts";
import { dialTcp, spliceTcp } from "../sidecar/tcp-splice.ts";
import { DEFAULT_CONNECT_TIMEOUT_MS } from "../sidecar/upstream-forward.ts";

/** What {@link createTcpForward} needs. */
export interface TcpForwardDeps extends TcpUpstreamDeps {
  snapshot: () => Snapshot;
}

/** One connection to forward: where it goes and what was already read from it. */
export interface TcpForwardRequest {
  /** For logs: the server and route, e.g. `VirtualService/default/db#tcp0`. */
  origin: string;
  destinations: readonly WeightedCluster[];
  /** The name the client asked for (SNI, or a server host): the `destination_service` label fallback. */
  authority: string;
  /** Bytes read before forwarding (a passthrough ClientHello), written upstream first. */
  head?: Buffer;
}

/**
 * The gateway's L4 data path, shared by PASSTHROUGH, AUTO_PASSTHROUGH and TCP servers (plain or
 * TLS-terminated): picks a destination by weight and an endpoint of its cluster, connects (auto-mTLS
 * to sidecars as for HTTP), writes `head`, then splices both ways with Istio's TCP metrics. No
 * destination, cluster or endpoint, or a failed connect, closes the connection.
 *
 * @example
 * ```ts
 * const forward = createTcpForward(deps);
 * forward(tlsSocket, { origin: "VirtualService/default/echo#tcp0", destinations, authority: "echo.example.com" });
 * ```
 */
export function createTcpForward(deps: TcpForwardDeps): (socket: Duplex, request: TcpForwardRequest) => void {
  return (socket, request) => {
    const refuse = (why: string) => {
      deps.log.debug(`gateway ${request.origin} (${request.authority}): ${why}`);
      socket.destroy();
    };
    const picked = pickWeighted(request.destinations, deps.random);
    const cluster = picked ? deps.snapshot().clusters[picked.cluster] : undefined;
    if (!cluster) return refuse(`no cluster ${picked?.cluster ?? "(no destination)"}`);
    const endpoint = pickEndpoint(cluster, deps.lb, deps.random);
    if (!endpoint) return refuse(`no healthy endpoint in ${cluster.name}`);
    const address = deps.upstreamAddress?.(cluster, endpoint) ?? {
      address: endpoint.address,
      port: endpoint.port,
    };
    const timeout = cluster.connectionPool?.connectTimeoutMs ?? DEFAULT_CONNECT_TIMEOUT_MS;
    dialTcp(address, deps.dialerFor, timeout).then(
      (upstream) => {
        const metrics = deps.metrics.open({
          reporter: "source",
          self: deps.self,
          connectionSecurityPolicy: "unknown",
          destinationService: deps.destinationService(request.authority, cluster.service),
          responseFlags: "-",
        });
        if (socket.destroyed) {
          upstream.destroy();
          return void metrics.close();
        }
        if (request.head?.length) {
          upstream.write(request.head);
          metrics.received(request.head.length);
        }
        spliceTcp(socket, upstream, metrics);
      },
      (error: unknown) => refuse(`upstream connect error: ${(error as Error).message}`),
    );
  };
}
