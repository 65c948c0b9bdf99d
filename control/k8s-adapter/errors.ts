import { JibeError } from "../../broker/errors.ts";

/**
 * Why the Kubernetes adapter could not start.
 * - `invalid-cluster-name`: the cluster name is not a DNS-1123 label.
 */
export type AdapterErrorCode = "invalid-cluster-name";

/**
 * The error of `control/k8s-adapter`; always a user error (bad configuration).
 *
 * @example
 * ```ts
 * catch (e) { if (e instanceof AdapterError && e.code === "invalid-cluster-name") console.error(e.message); }
 * ```
 */
export class AdapterError extends JibeError<AdapterErrorCode> {
  constructor(code: AdapterErrorCode, message: string, opts: { cause?: unknown } = {}) {
    super(code, message, { ...opts, user: true });
    this.name = "AdapterError";
  }
}
