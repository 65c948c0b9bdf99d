import { JibeError } from "../../broker/errors.ts";

/**
 * Why the injector refused a Pod or could not serve.
 * - `invalid-annotation`: a `traffic.sidecar.istio.io/*` annotation has a value that cannot be captured.
 * - `invalid-admission-review`: the webhook body is not an AdmissionReview v1 with a Pod.
 * - `kubernetes-version-invalid`: the cluster version given to the injector is not `<major>.<minor>`.
 */
export type InjectorErrorCode =
  | "invalid-annotation"
  | "invalid-admission-review"
  | "kubernetes-version-invalid";

/**
 * The error of `control/injector`; always a user error (a bad Pod, request or configuration).
 *
 * @example
 * ```ts
 * catch (e) { if (e instanceof InjectorError && e.code === "invalid-annotation") deny(e.message); }
 * ```
 */
export class InjectorError extends JibeError<InjectorErrorCode> {
  constructor(code: InjectorErrorCode, message: string, opts: { cause?: unknown } = {}) {
    super(code, message, { ...opts, user: true });
    this.name = "InjectorError";
  }
}

/** True for an {@link InjectorError}. */
export function isInjectorError(err: unknown): err is InjectorError {
  return err instanceof InjectorError;
}
