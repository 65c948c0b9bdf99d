import type { ConnectionOptions, NatsConnection } from "@nats-io/nats-core";
import { connect } from "@nats-io/transport-node";

/**
 * Node adapter: a NATS connection for long-running Jibe processes. Unlike the client defaults
 * (10 reconnect attempts, then give up), it reconnects forever, so a proxy rides out a
 * nats-server restart and keeps serving its last-known-good policy meanwhile.
 *
 * @example
 * ```ts
 * const nc = await connectNats("nats://127.0.0.1:4222", { name: "sidecar-reviews" });
 * // ... later
 * await nc.drain();
 * ```
 */
export function connectNats(url: string, opts: Partial<ConnectionOptions> = {}): Promise<NatsConnection> {
  return connect({
    maxReconnectAttempts: -1,
    reconnectTimeWait: 500,
    ...opts,
    servers: url,
  });
}
