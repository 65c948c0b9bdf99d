import type { ResponseFlag } from "./response-flags.ts";

/** gRPC status codes the proxy answers with (grpc/doc/statuscodes.md). */
export const GRPC_STATUS = {
  UNKNOWN: 2,
  DEADLINE_EXCEEDED: 4,
  PERMISSION_DENIED: 7,
  UNIMPLEMENTED: 12,
  INTERNAL: 13,
  UNAVAILABLE: 14,
  UNAUTHENTICATED: 16,
} as const;

/**
 * The `grpc-status` of an answer the proxy generates for a gRPC request, from the HTTP status it
 * would have sent (Envoy's `httpToGrpcStatus`: 400 INTERNAL, 401 UNAUTHENTICATED, 403
 * PERMISSION_DENIED, 404 UNIMPLEMENTED, 429/502/503/504 UNAVAILABLE, else UNKNOWN), except that a
 * timeout (`UT`) is DEADLINE_EXCEEDED, as the gRPC client's own deadline would report it.
 *
 * @example
 * ```ts
 * grpcStatusOfLocalReply(503, "UH"); // 14 (UNAVAILABLE)
 * grpcStatusOfLocalReply(504, "UT"); // 4 (DEADLINE_EXCEEDED)
 * ```
 */
export function grpcStatusOfLocalReply(status: number, flag?: ResponseFlag): number {
  if (flag === "UT") return GRPC_STATUS.DEADLINE_EXCEEDED;
  switch (status) {
    case 400:
      return GRPC_STATUS.INTERNAL;
    case 401:
      return GRPC_STATUS.UNAUTHENTICATED;
    case 403:
      return GRPC_STATUS.PERMISSION_DENIED;
    case 404:
      return GRPC_STATUS.UNIMPLEMENTED;
    case 429:
    case 502:
    case 503:
    case 504:
      return GRPC_STATUS.UNAVAILABLE;
    default:
      return GRPC_STATUS.UNKNOWN;
  }
}

/** `grpc-message` is percent-encoded (space and printable ASCII but `%` stay as they are). */
export function encodeGrpcMessage(message: string): string {
  let out = "";
  for (const byte of new TextEncoder().encode(message)) {
    out +=
      byte >= 0x20 && byte <= 0x7e && byte !== 0x25
        ? String.fromCharCode(byte)
        : `%${byte.toString(16).toUpperCase().padStart(2, "0")}`;
  }
  return out;
}
