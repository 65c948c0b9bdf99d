import type { Socket } from "node:net";
import type { Logger } from "../../broker/logger.ts";
import { hostMatches } from "../../control/compile/host-names.ts";
import type { Cluster, Endpoint, GatewayServerConfig, Snapshot } from "../../control/compile/snapshot.ts";
import { type LoadBalancerState, pickEndpoint, pickWeighted } from "../engine/index.ts";
import type { UpstreamAddress } from "../sidecar/proxy-context.ts";
import type { TcpMetrics } from "../sidecar/tcp-metrics.ts";
import { dialTcp, spliceTcp } from "../sidecar/tcp-splice.ts";
import { DEFAULT_CONNECT_TIMEOUT_MS } from "../sidecar/upstream-forward.ts";
import type { UpstreamDial } from "../sidecar/upstream-tls.ts";
import type { DestinationService, WorkloadMetadata } from "../telemetry/index.ts";

/** What {@link createTlsPassthrough} needs. */
export interface TlsPassthroughDeps {
  snapshot: () => Snapshot;
  lb: LoadBalancerState;
  random: () => number;
  /** How an endpoint is reached (auto-mTLS to sidecars); default plaintext. */
  upstreamAddress?: (cluster: Cluster, endpoint: Endpoint) => UpstreamAddress;
  dialerFor?: (endpoint: UpstreamAddress) => UpstreamDial;
  metrics: TcpMetrics;
  self: WorkloadMetadata;
  destinationService: (authority: string, routed: string | undefined) => DestinationService;
  log: Logger;
}

/**
 * A PASSTHROUGH server's data path: the connection's TLS stream, ClientHello included, goes
 * untouched to an endpoint of the destination of the first VirtualService `tls` route whose
 * `sniHosts` match its SNI (weights as in HTTP routes); the client completes its handshake with the
 * backend. No SNI, no matching route or no endpoint closes the connection.
 *
 * @example
 * ```ts
 * const passthrough = createTlsPassthrough(deps);
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
    if (!serverName) return refuse("a PASSTHROUGH server routes by SNI and the client sent none");
    const route = server.sniRoutes?.find((r) => r.sniHosts.some((h) => hostMatches(h, serverName)));
    if (!route) return refuse("no VirtualService tls route matches");
    const picked = pickWeighted(route.destinations, deps.random);
    const cluster = picked ? deps.snapshot().clusters[picked.cluster] : undefined;
    if (!cluster) return refuse(`${route.origin}: no cluster ${picked?.cluster ?? "(no destination)"}`);
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
          destinationService: deps.destinationService(serverName, cluster.service),
          responseFlags: "-",
        });
        if (socket.destroyed) {
          upstream.destroy();
          return void metrics.close();
        }
        upstream.write(hello);
        metrics.received(hello.length);
        spliceTcp(socket, upstream, metrics);
      },
      (error: unknown) => refuse(`upstream connect error: ${(error as Error).message}`),
    );
  };
}
