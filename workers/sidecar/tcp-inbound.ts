import type { Socket } from "node:net";
import { TLSSocket } from "node:tls";
import type { Logger } from "../../broker/logger.ts";
import type { Snapshot } from "../../control/compile/snapshot.ts";
import { peerSpiffeId } from "../../identity/tls-options.ts";
import type { AuthzDecision } from "../engine/authz-facts.ts";
import { authorize, createAuthzTableCache } from "../engine/index.ts";
import type { DestinationService, WorkloadMetadata } from "../telemetry/index.ts";
import type { TcpMetrics } from "./tcp-metrics.ts";
import { dialTcp, spliceTcp } from "./tcp-splice.ts";

/** What {@link createInboundTcpProxy} needs. */
export interface InboundTcpDeps {
  appPort: number;
  snapshot: () => Snapshot;
  metrics: TcpMetrics;
  self: WorkloadMetadata;
  /** The `destination_service` labels of this workload's TCP service. */
  destinationService: () => DestinationService;
  log: Logger;
  /** Counts each connection's authorization decision (allowed, denied, dry-run, audit). */
  onDecision?: (decision: AuthzDecision) => void;
}

/**
 * The inbound side of a port declared TCP: each connection (after the mTLS gate) is authorized
 * with its L4 facts (peer principal from the mTLS certificate, source IP, workload port; rules on
 * HTTP fields never match TCP, as in Istio), then spliced to 127.0.0.1:`appPort` at once, so the
 * app's greeting (server-first protocols) flows before the client sends anything. A denial closes
 * the connection.
 *
 * @example
 * ```ts
 * startListener({ ..., rawTcp: () => (tcpPort ? createInboundTcpProxy(deps) : undefined) });
 * ```
 */
export function createInboundTcpProxy(deps: InboundTcpDeps): (socket: Socket) => void {
  const tables = createAuthzTableCache();
  return (socket) => {
    socket.on("error", () => socket.destroy());
    const snapshot = deps.snapshot();
    const spiffeId =
      socket instanceof TLSSocket && socket.authorized
        ? peerSpiffeId(socket.getPeerX509Certificate())
        : undefined;
    const principal = spiffeId?.slice("spiffe://".length);
    if (snapshot.authz) {
      const decision = authorize(tables.tableFor(snapshot), {
        protocol: "tcp",
        sourceIp: socket.remoteAddress,
        destinationIp: socket.localAddress,
        destinationPort: deps.appPort,
        ...(principal ? { peer: { principal } } : {}),
      });
      deps.onDecision?.(decision);
      if (!decision.allowed) {
        deps.log.debug(`inbound tcp from ${socket.remoteAddress}: denied (${decision.reason})`);
        socket.destroy();
        return;
      }
    }
    socket.pause();
    dialTcp({ address: "127.0.0.1", port: deps.appPort }, undefined, 10_000).then(
      (app) => {
        if (socket.destroyed) return void app.destroy();
        const metrics = deps.metrics.open({
          reporter: "destination",
          self: deps.self,
          // Istio's `source_principal` is the full SPIFFE ID; its namespace labels the source.
          ...(spiffeId ? { peerPrincipal: spiffeId } : {}),
          destinationPort: deps.appPort,
          connectionSecurityPolicy: socket instanceof TLSSocket ? "mutual_tls" : "none",
          destinationService: deps.destinationService(),
          responseFlags: "-",
        });
        spliceTcp(socket, app, metrics);
        socket.resume();
      },
      (error: Error) => {
        deps.log.debug(`inbound tcp → app port ${deps.appPort}: ${error.message}`);
        socket.destroy();
      },
    );
  };
}
