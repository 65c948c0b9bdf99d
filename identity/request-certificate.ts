import type { NatsConnection } from "@nats-io/nats-core";
import { type CsrReply, type CsrRequest, readCsrReply } from "./csr-wire.ts";
import { refuse } from "./errors.ts";
import { CSR_SUBJECT } from "./subjects.ts";

/**
 * Workload side of issuance: one NATS request on {@link CSR_SUBJECT}. Transport problems (no CA
 * listening, timeout, NATS down) come back as a `ca-unavailable` refusal, so callers handle every
 * outcome as a value. nats-core only.
 *
 * @example
 * ```ts
 * const reply = await requestCertificate(nc, { v: 1, csr: csrPem, credential }, { timeoutMs: 5_000 });
 * if (!reply.ok && reply.code === "ca-unavailable") retryLater();
 * ```
 */
const utf8 = new TextEncoder();
const fromUtf8 = new TextDecoder();

export async function requestCertificate(
  nc: NatsConnection,
  request: CsrRequest,
  opts: { timeoutMs?: number; subject?: string } = {},
): Promise<CsrReply> {
  let text: string;
  try {
    const msg = await nc.request(opts.subject ?? CSR_SUBJECT, utf8.encode(JSON.stringify(request)), {
      timeout: opts.timeoutMs ?? 5_000,
    });
    text = fromUtf8.decode(msg.data);
  } catch (err) {
    return {
      v: 1,
      ...refuse("ca-unavailable", `no CA answered: ${err instanceof Error ? err.message : String(err)}`),
    };
  }
  try {
    return readCsrReply(JSON.parse(text));
  } catch {
    return { v: 1, ...refuse("issuance-failed", "CA reply is not JSON") };
  }
}
