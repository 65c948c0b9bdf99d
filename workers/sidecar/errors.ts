import { JibeError } from "../../broker/errors.ts";

/** Codes of errors thrown by the sidecar package. */
export type SidecarErrorCode =
  /** An environment variable of the standalone sidecar is missing or malformed. */
  "sidecar-config-invalid";

/** An error thrown by the sidecar package. */
export class SidecarError extends JibeError<SidecarErrorCode> {
  constructor(code: SidecarErrorCode, message: string, options: { cause?: unknown; user?: boolean } = {}) {
    super(code, message, options);
    this.name = "SidecarError";
  }
}
