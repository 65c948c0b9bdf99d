import type { Socket } from "node:net";
import { TLSSocket } from "node:tls";
import type { InboundObservation, OutboundObservation } from "../../broker/proxy-report.ts";
import { peerSpiffeId } from "../../identity/tls-options.ts";
import type { Layer } from "./proxy-context.ts";

/**
 * What the sidecar saw on the wire, for `jibe mtls check`: per upstream endpoint, requests sent
 * over mTLS (the server presented a SPIFFE ID), TLS or plaintext and the identities presented;
 * inbound, requests over mTLS (with the callers' SPIFFE IDs) or plaintext. Observed, not inferred
 * from policy: read off the sockets the requests actually used.
 *
 * @example
 * ```ts
 * const peers = createPeerSecurityLog();
 * createOutboundPipeline({ ..., peerSecurity: peers }); createInboundPipeline({ ..., peerSecurity: peers });
 * peers.report(); // { inbound: { mtls, plaintext, principals }, outbound: [...] }
 * ```
 */
export interface PeerSecurityLog {
  /** Outbound layer: records the upstream connection of each response. */
  outbound(): Layer;
  /** Inbound layer: records how each request's caller connected. */
  inbound(): Layer;
  /**
   * Notes what an upstream presented at the handshake (the upstream dialer calls it): a response's
   * socket may already be closed when it is recorded, and a closed socket no longer shows it.
   */
  recordHandshake(socket: TLSSocket): void;
  /** The SPIFFE ID an upstream connection's server presented at its handshake, if any. */
  presentedBy(socket: unknown): string | undefined;
  report(): { inbound: InboundObservation; outbound: OutboundObservation[] };
}

export function createPeerSecurityLog(): PeerSecurityLog {
  const inbound: InboundObservation = { mtls: 0, plaintext: 0, principals: {} };
  const outbound = new Map<string, OutboundObservation & { peerSet: Set<string> }>();
  const presented = new WeakMap<Socket, string | null>();
  const endpoints = new WeakMap<Socket, string>();
  return {
    outbound: () => (next) => (ctx) => {
      ctx.upstreamResponseHooks.push((response) => {
        const socket = response.socket as Socket | null;
        if (!socket || !ctx.cluster) return;
        // The attempt's endpoint; a closed socket no longer knows its peer address.
        const endpoint =
          endpoints.get(socket) ??
          (ctx.endpoint
            ? `${ctx.endpoint.address}:${ctx.endpoint.port}`
            : `${socket.remoteAddress}:${socket.remotePort}`);
        const key = `${ctx.cluster.service}|${endpoint}`;
        let seen = outbound.get(key);
        if (!seen) {
          seen = {
            service: ctx.cluster.service,
            endpoint,
            mtls: 0,
            tls: 0,
            plaintext: 0,
            peers: [],
            peerSet: new Set(),
          };
          outbound.set(key, seen);
        }
        if (!(socket instanceof TLSSocket)) {
          seen.plaintext++;
          return;
        }
        const peer = presented.has(socket)
          ? presented.get(socket)
          : peerSpiffeId(socket.getPeerX509Certificate());
        if (!peer) {
          seen.tls++;
          return;
        }
        seen.mtls++;
        seen.peerSet.add(peer);
      });
      return next(ctx);
    },
    inbound: () => (next) => (ctx) => {
      const socket = ctx.req.socket;
      const peer =
        socket instanceof TLSSocket && socket.authorized
          ? peerSpiffeId(socket.getPeerX509Certificate())
          : undefined;
      if (peer) {
        inbound.mtls++;
        inbound.principals[peer] = (inbound.principals[peer] ?? 0) + 1;
      } else inbound.plaintext++;
      return next(ctx);
    },
    recordHandshake(socket) {
      presented.set(socket, peerSpiffeId(socket.getPeerX509Certificate()) ?? null);
      endpoints.set(socket, `${socket.remoteAddress}:${socket.remotePort}`);
    },
    presentedBy: (socket) => (socket instanceof TLSSocket ? (presented.get(socket) ?? undefined) : undefined),
    report: () => ({
      inbound: { ...inbound, principals: { ...inbound.principals } },
      outbound: [...outbound.values()].map(({ peerSet, ...seen }) => ({
        ...seen,
        peers: [...peerSet].sort(),
      })),
    }),
  };
}
