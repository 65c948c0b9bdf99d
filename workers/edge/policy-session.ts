import { type NatsConnection, wsconnect } from "@nats-io/nats-core";
import type { Verifier } from "../../broker/envelope.ts";
import type { Logger } from "../../broker/logger.ts";
import { type PolicyState, type PolicySync, startPolicySync } from "../../broker/policy-sync.ts";
import type { NatsAuth } from "./edge-config.ts";

/** One live NATS WebSocket connection with policy sync running on it. */
export interface PolicySession {
  readonly nc: NatsConnection;
  readonly sync: PolicySync;
  readonly connectedAt: number;
  /** Set while the client is between a disconnect and its reconnect; the old policy stays in force. */
  readonly disconnectedAt: number | undefined;
  /** Resolves when the connection is closed for good (the client's own reconnects gave up or `close`). */
  readonly closed: Promise<Error | undefined>;
  close(): Promise<void>;
}

export interface PolicySessionOptions {
  natsWsUrl: string;
  natsAuth?: NatsAuth;
  /** Connection name shown by the NATS server (`nats server report connections`). */
  name: string;
  verifier: Verifier;
  onChange(state: PolicyState): void;
  log: Logger;
  clock?: () => number;
}

/**
 * Connects over WebSocket and starts policy sync; resolves once the initial KV load was applied.
 * The client reconnects forever on its own (policy sync resyncs after each reconnect); pings every
 * 10 s notice a dead socket within ~30 s even when no message is due.
 *
 * @example
 * ```ts
 * const session = await openPolicySession({ natsWsUrl, name: "jibe edge~local", verifier, onChange, log: console });
 * session.closed.then(() => log.warn("gone"));
 * ```
 */
export async function openPolicySession(opts: PolicySessionOptions): Promise<PolicySession> {
  const clock = opts.clock ?? Date.now;
  const nc = await wsconnect({
    ...opts.natsAuth,
    servers: opts.natsWsUrl,
    name: opts.name,
    timeout: 5_000,
    reconnect: true,
    maxReconnectAttempts: -1,
    reconnectTimeWait: 1_000,
    pingInterval: 10_000,
    maxPingOut: 2,
  });
  let disconnectedAt: number | undefined;
  void (async () => {
    for await (const status of nc.status()) {
      if (status.type === "disconnect") disconnectedAt ??= clock();
      if (status.type === "reconnect") disconnectedAt = undefined;
    }
  })().catch(() => undefined);
  try {
    const sync = await startPolicySync({
      nc,
      verifier: opts.verifier,
      onChange: opts.onChange,
      clock,
      log: opts.log,
    });
    return {
      nc,
      sync,
      connectedAt: clock(),
      get disconnectedAt() {
        return disconnectedAt;
      },
      closed: nc.closed().then((error) => error ?? undefined),
      async close() {
        await sync
          .stop()
          .catch((error: unknown) => opts.log.warn(`edge: stopping policy sync: ${String(error)}`));
        if (!nc.isClosed()) await nc.close();
      },
    };
  } catch (error) {
    await nc.close().catch(() => undefined);
    throw error;
  }
}
