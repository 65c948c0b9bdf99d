import { connect as netConnect, type Socket } from "node:net";
import type { Duplex } from "node:stream";
import { TLSSocket } from "node:tls";
import type { UpstreamAddress } from "./proxy-context.ts";
import type { TcpConnectionMetrics } from "./tcp-metrics.ts";
import type { UpstreamDial } from "./upstream-tls.ts";

/**
 * Opens a TCP connection to `endpoint`: plain TCP, or TLS through `dialerFor` when the endpoint has
 * a `transport` (mTLS to a sidecar, DestinationRule TLS). Resolves once connected (TLS: after a
 * successful handshake); rejects on refusal, handshake failure or `connectTimeoutMs`.
 */
export function dialTcp(
  endpoint: UpstreamAddress,
  dialerFor: ((endpoint: UpstreamAddress) => UpstreamDial) | undefined,
  connectTimeoutMs: number,
): Promise<Socket> {
  return new Promise((resolve, reject) => {
    let socket: Socket | undefined;
    const fail = (error: Error) => {
      clearTimeout(timer);
      socket?.destroy();
      reject(error);
    };
    const timer = setTimeout(
      () => fail(new Error(`connect timeout after ${connectTimeoutMs} ms`)),
      connectTimeoutMs,
    );
    const options = { host: endpoint.address, port: endpoint.port };
    if (endpoint.transport) {
      const dial = dialerFor?.(endpoint);
      if (!dial)
        return fail(new Error(`no ${endpoint.transport} credentials for ${options.host}:${options.port}`));
      socket = dial(options, (error) => {
        if (error) fail(error);
      });
      if (!socket) return;
    } else socket = netConnect(options);
    const connected = socket;
    connected.once("error", fail);
    connected.once(connected instanceof TLSSocket ? "secureConnect" : "connect", () => {
      clearTimeout(timer);
      connected.off("error", fail);
      resolve(connected);
    });
  });
}

/**
 * Pipes two connections into each other until either closes (the other is then closed too),
 * counting bytes: client → server as `received`, server → client as `sent` (Istio's TCP metrics).
 */
export function spliceTcp(client: Duplex, server: Duplex, metrics: TcpConnectionMetrics): void {
  client.on("data", (chunk: Buffer) => metrics.received(chunk.length));
  server.on("data", (chunk: Buffer) => metrics.sent(chunk.length));
  client.on("error", () => server.destroy());
  server.on("error", () => client.destroy());
  const closeBoth = () => {
    client.destroy();
    server.destroy();
    metrics.close();
  };
  client.once("close", closeBoth);
  server.once("close", closeBoth);
  client.pipe(server);
  server.pipe(client);
}
