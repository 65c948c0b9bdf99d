import type { NatsConnection } from "@nats-io/nats-core";
import { type Logger, silentLogger } from "../broker/logger.ts";
import type { IdentityErrorCode } from "./errors.ts";
import type { CertificateIssuer } from "./issuer.ts";
import { CA_QUEUE_GROUP, CSR_SUBJECT } from "./subjects.ts";

/**
 * Serves CSR requests on the bus: subscribes to {@link CSR_SUBJECT} in queue group `jibe-ca` (so
 * several CA replicas share the load) and answers each request with the issuer's reply. Requests
 * are handled concurrently (signing waits on Web Crypto, not on the event loop). Logs name the
 * SPIFFE ID and the refusal code, never the CSR's credential. nats-core only.
 *
 * @example
 * ```ts
 * const service = serveCertificateRequests({ nc, issuer, log });
 * // ... later
 * console.log(service.stats); await service.stop();
 * ```
 */
export interface CaServiceStats {
  issued: number;
  refused: Partial<Record<IdentityErrorCode, number>>;
}

export interface CaService {
  readonly stats: CaServiceStats;
  stop(): Promise<void>;
}

const utf8 = new TextEncoder();
const fromUtf8 = new TextDecoder();

export function serveCertificateRequests(opts: {
  nc: NatsConnection;
  issuer: CertificateIssuer;
  subject?: string;
  log?: Logger;
}): CaService {
  const log = opts.log ?? silentLogger;
  const stats: CaServiceStats = { issued: 0, refused: {} };
  const inFlight = new Set<Promise<void>>();

  const handle = async (data: Uint8Array, respond: (payload: Uint8Array) => boolean): Promise<void> => {
    let parsed: unknown;
    try {
      parsed = JSON.parse(fromUtf8.decode(data));
    } catch {
      parsed = undefined;
    }
    const reply = await opts.issuer.issue(parsed).catch((err: unknown) => {
      log.error("identity CA: issuance failed:", err instanceof Error ? err.message : err);
      return {
        v: 1 as const,
        ok: false as const,
        code: "issuance-failed" as const,
        message: "internal CA error",
      };
    });
    if (reply.ok) {
      stats.issued++;
      log.debug(`identity CA: issued ${reply.spiffeId} serial ${reply.serial} until ${reply.notAfter}`);
    } else {
      stats.refused[reply.code] = (stats.refused[reply.code] ?? 0) + 1;
      log.info(`identity CA: refused (${reply.code}): ${reply.message}`);
    }
    respond(utf8.encode(JSON.stringify(reply)));
  };

  const sub = opts.nc.subscribe(opts.subject ?? CSR_SUBJECT, {
    queue: CA_QUEUE_GROUP,
    callback: (err, msg) => {
      if (err) {
        log.warn("identity CA: subscription error:", err.message);
        return;
      }
      if (!msg.reply) return; // a CSR with nowhere to send the certificate
      const task = handle(msg.data, (payload) => msg.respond(payload)).finally(() => inFlight.delete(task));
      inFlight.add(task);
    },
  });

  return {
    stats,
    async stop() {
      sub.unsubscribe();
      await Promise.allSettled([...inFlight]);
    },
  };
}
