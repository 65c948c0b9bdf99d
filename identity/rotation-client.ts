import { type Logger, silentLogger } from "../broker/logger.ts";
import { createWorkloadCsr } from "./create-csr.ts";
import type { CsrReply } from "./csr-wire.ts";
import { exportPrivateKeyPem } from "./key-pair.ts";

/**
 * Keeps a workload's certificate fresh. It makes a new key pair and CSR for every renewal, sends
 * it through `fetch` (the bus, see `workload-identity.ts`), and swaps the new credentials in only
 * once the reply is a certificate: until then the old one keeps serving. Renewal happens at
 * `renewFraction` (default 50%) of the lifetime ± `jitterFraction / 2` (default ±5%), so a fleet
 * started together does not renew together; failures retry with exponential backoff (from
 * `retryInitialMs` doubling to `retryMaxMs`, with jitter) and never give up. The private key only
 * lives in this object; it is neither logged nor passed to `fetch`. Clock, timers and randomness
 * are dependencies (pure; Web Crypto).
 *
 * @example
 * ```ts
 * const client = startRotationClient({ spiffeId, fetch: (csrPem) => requestCertificate(nc, {...}), crypto });
 * await client.ready;
 * client.onRotate((creds) => server.setSecureContext(tlsOptionsFrom(creds)));
 * ```
 */
export interface WorkloadCredentials {
  spiffeId: string;
  /** The workload certificate then the intermediates (PEM). */
  certChainPem: string;
  /** PKCS#8 PEM of the workload's private key (for node:tls; never leaves the process). */
  keyPem: string;
  rootsPem: string;
  serial: string;
  notBefore: number;
  notAfter: number;
}

export interface RotationStats {
  rotations: number;
  failures: number;
  lastError?: string;
  /** When the next renewal attempt is due (ms since the epoch). */
  nextAttemptAt?: number;
}

export interface RotationClient {
  /** Resolves with the first certificate (retries until the CA answers). */
  readonly ready: Promise<WorkloadCredentials>;
  /** The credentials in force; `undefined` until `ready`. */
  readonly current: WorkloadCredentials | undefined;
  readonly stats: RotationStats;
  /** Calls `listener` after every successful rotation (not for the first certificate's `ready`). Returns an unsubscribe. */
  onRotate(listener: (credentials: WorkloadCredentials) => void): () => void;
  /** Replaces the trusted roots (e.g. from the trust bundle) without a new certificate; listeners are told. */
  setRoots(rootsPem: string): void;
  /** Renews now (e.g. after a root rotation). */
  rotateNow(): Promise<void>;
  stop(): void;
}

export interface RotationClientOptions {
  spiffeId: string;
  fetch(csrPem: string): Promise<CsrReply>;
  crypto: Crypto;
  onRotate?(credentials: WorkloadCredentials): void;
  renewFraction?: number;
  jitterFraction?: number;
  retryInitialMs?: number;
  retryMaxMs?: number;
  clock?: () => number;
  random?: () => number;
  timers?: { setTimeout(fn: () => void, ms: number): unknown; clearTimeout(handle: unknown): void };
  log?: Logger;
}

export function startRotationClient(opts: RotationClientOptions): RotationClient {
  const clock = opts.clock ?? Date.now;
  const random = opts.random ?? Math.random;
  const timers = opts.timers ?? {
    setTimeout: (fn: () => void, ms: number) => setTimeout(fn, ms),
    clearTimeout: (handle: unknown) => clearTimeout(handle as ReturnType<typeof setTimeout>),
  };
  const log = opts.log ?? silentLogger;
  const renewFraction = opts.renewFraction ?? 0.5;
  const jitterFraction = opts.jitterFraction ?? 0.1;
  const retryInitial = opts.retryInitialMs ?? 500;
  const retryMax = opts.retryMaxMs ?? 30_000;
  const listeners = new Set<(credentials: WorkloadCredentials) => void>();
  if (opts.onRotate) listeners.add(opts.onRotate);
  const stats: RotationStats = { rotations: 0, failures: 0 };

  let current: WorkloadCredentials | undefined;
  // Roots from the trust bundle win over those in CA replies once one has arrived.
  let bundleRoots: string | undefined;
  let stopped = false;
  let timer: unknown;
  let retryDelay = retryInitial;
  let running: Promise<void> | undefined;
  let resolveReady: (credentials: WorkloadCredentials) => void = () => {};
  const ready = new Promise<WorkloadCredentials>((resolve) => {
    resolveReady = resolve;
  });

  const schedule = (at: number) => {
    if (stopped) return;
    if (timer !== undefined) timers.clearTimeout(timer);
    stats.nextAttemptAt = at;
    timer = timers.setTimeout(
      () => {
        timer = undefined;
        void attempt();
      },
      Math.max(0, at - clock()),
    );
  };

  const notify = (credentials: WorkloadCredentials) => {
    for (const listener of listeners) {
      try {
        listener(credentials);
      } catch (err) {
        log.error("identity rotation: onRotate listener threw:", err);
      }
    }
  };

  const renewalTime = (credentials: WorkloadCredentials): number => {
    const lifetime = credentials.notAfter - credentials.notBefore;
    const fraction = renewFraction + (random() - 0.5) * jitterFraction;
    return credentials.notBefore + lifetime * fraction;
  };

  /** Gets a new certificate and swaps it in; returns when the next renewal is due. */
  const renew = async (): Promise<number | undefined> => {
    const { csrPem, keys } = await createWorkloadCsr({ spiffeId: opts.spiffeId, crypto: opts.crypto });
    const reply = await opts.fetch(csrPem);
    if (!reply.ok) throw new Error(`${reply.code}: ${reply.message}`);
    if (reply.spiffeId !== opts.spiffeId)
      throw new Error(`CA issued ${reply.spiffeId}, asked for ${opts.spiffeId}`);
    const next: WorkloadCredentials = {
      spiffeId: reply.spiffeId,
      certChainPem: reply.certChainPem,
      keyPem: await exportPrivateKeyPem(opts.crypto, keys.privateKey),
      rootsPem: bundleRoots ?? reply.rootsPem,
      serial: reply.serial,
      notBefore: Date.parse(reply.notBefore),
      notAfter: Date.parse(reply.notAfter),
    };
    if (stopped) return undefined;
    const first = current === undefined;
    current = next;
    retryDelay = retryInitial;
    if (first) resolveReady(next);
    else {
      stats.rotations++;
      notify(next);
    }
    log.info(
      `identity: certificate for ${next.spiffeId} serial ${next.serial} valid until ${reply.notAfter}`,
    );
    return renewalTime(next);
  };

  /** One renewal; the next attempt is scheduled only after it settled (never two at once). */
  const attempt = (): Promise<void> => {
    running ??= (async () => {
      let nextAt: number | undefined;
      try {
        nextAt = await renew();
      } catch (err) {
        if (stopped) return;
        stats.failures++;
        stats.lastError = err instanceof Error ? err.message : String(err);
        const delay = retryDelay * (0.8 + random() * 0.4);
        retryDelay = Math.min(retryDelay * 2, retryMax);
        const still = current && clock() < current.notAfter ? "; the current certificate keeps serving" : "";
        log.warn(
          `identity: renewal failed (${stats.lastError}); retrying in ${Math.round(delay)} ms${still}`,
        );
        nextAt = clock() + delay;
      } finally {
        running = undefined;
      }
      if (nextAt !== undefined) schedule(nextAt);
    })();
    return running;
  };

  void attempt();

  return {
    ready,
    get current() {
      return current;
    },
    stats,
    onRotate(listener) {
      listeners.add(listener);
      return () => listeners.delete(listener);
    },
    setRoots(rootsPem) {
      bundleRoots = rootsPem;
      if (!current || current.rootsPem === rootsPem) return;
      current = { ...current, rootsPem };
      notify(current);
    },
    rotateNow: attempt,
    stop() {
      stopped = true;
      if (timer !== undefined) timers.clearTimeout(timer);
    },
  };
}
