/**
 * The one error base of Jibe: a stable literal `code` (what callers switch on), a message for
 * humans and the underlying `cause`. Each package declares its own code union and uses
 * `JibeError<ItsCodes>`; `user` marks errors the user can fix (print the message, no stack).
 *
 * @example
 * ```ts
 * throw new BrokerError("trust-jwks-invalid", "JIBE_TRUST_JWKS: expected {\"keys\": [...]}", { user: true });
 *
 * try { await startNatsServer(); } catch (err) {
 *   if (isJibeError(err) && err.user) console.error(err.message);
 *   else throw err;
 * }
 * ```
 */
export class JibeError<Code extends string = string> extends Error {
  readonly code: Code;
  /** True when the user can fix it (bad input, missing tool): show the message, not the stack. */
  readonly user: boolean;

  constructor(code: Code, message: string, options: { cause?: unknown; user?: boolean } = {}) {
    super(message, "cause" in options ? { cause: options.cause } : undefined);
    this.name = "JibeError";
    this.code = code;
    this.user = options.user ?? false;
  }
}

/** True for any {@link JibeError}, whatever package threw it. */
export function isJibeError(err: unknown): err is JibeError {
  return err instanceof JibeError;
}

/** Codes of errors thrown by the broker package. */
export type BrokerErrorCode =
  /** No nats-server binary on this machine. */
  | "nats-server-not-found"
  /** nats-server started but exited or never accepted connections. */
  | "nats-server-failed"
  /** A signing key file or JWK is unusable. */
  | "signing-key-invalid"
  /** A trusted JWKS (env value or file) is unusable. */
  | "trust-jwks-invalid"
  /** A config-store operation failed (NATS down, bucket missing, timeout). */
  | "config-store-failed";

/** An error thrown by the broker package. */
export class BrokerError extends JibeError<BrokerErrorCode> {
  constructor(code: BrokerErrorCode, message: string, options: { cause?: unknown; user?: boolean } = {}) {
    super(code, message, options);
    this.name = "BrokerError";
  }
}
