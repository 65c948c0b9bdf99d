import type { ResourceRef } from "../../broker/events.ts";
import { KNOWN_UNSUPPORTED_KINDS, resolveKind, SUPPORTED_KINDS } from "../model/kinds.ts";
import { AdminHttpError } from "./http-errors.ts";

/**
 * Resolves a kind as users type it (`vs`, `virtualservices`, `VirtualService`) to its canonical name.
 *
 * @example
 * ```ts
 * kindParam("vs"); // "VirtualService"
 * ```
 */
export function kindParam(input: string): string {
  const kind = resolveKind(input);
  if (kind) return kind;
  const unsupported = Object.keys(KNOWN_UNSUPPORTED_KINDS).find(
    (k) => k.toLowerCase() === input.toLowerCase(),
  );
  const why = unsupported ? `${unsupported} is not supported by Jibe yet` : `unknown kind "${input}"`;
  throw new AdminHttpError(
    "unknown-kind",
    400,
    `${why}; use one of ${SUPPORTED_KINDS.join(", ")} (or vs, dr, we, svc)`,
  );
}

/** The ref named by `/resources/:kind/:namespace/:name`. */
export function refParam(params: { kind: string; namespace: string; name: string }): ResourceRef {
  return { kind: kindParam(params.kind), namespace: params.namespace, name: params.name };
}
