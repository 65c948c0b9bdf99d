import { describe, expect, it } from "vitest";
import { encodeGrpcMessage, GRPC_STATUS, grpcStatusOfLocalReply } from "./grpc-status.ts";

describe("grpc-status of the proxy's own answers", () => {
  it("maps HTTP statuses as Envoy does, and timeouts to DEADLINE_EXCEEDED", () => {
    expect(grpcStatusOfLocalReply(503, "UH")).toBe(GRPC_STATUS.UNAVAILABLE);
    expect(grpcStatusOfLocalReply(503, "UF")).toBe(14);
    expect(grpcStatusOfLocalReply(504, "UT")).toBe(GRPC_STATUS.DEADLINE_EXCEEDED);
    expect(grpcStatusOfLocalReply(403, "RBAC")).toBe(GRPC_STATUS.PERMISSION_DENIED);
    expect(grpcStatusOfLocalReply(401)).toBe(GRPC_STATUS.UNAUTHENTICATED);
    expect(grpcStatusOfLocalReply(404, "NR")).toBe(GRPC_STATUS.UNIMPLEMENTED);
    expect(grpcStatusOfLocalReply(400, "DPE")).toBe(GRPC_STATUS.INTERNAL);
    expect(grpcStatusOfLocalReply(500)).toBe(GRPC_STATUS.UNKNOWN);
  });

  it("percent-encodes grpc-message outside printable ASCII and '%'", () => {
    expect(encodeGrpcMessage("no healthy upstream")).toBe("no healthy upstream");
    expect(encodeGrpcMessage("100% ü\n")).toBe("100%25 %C3%BC%0A");
  });
});
