import { describe, expect, it } from "vitest";
import { createGrpcMessageCounter } from "./grpc-frames.ts";

const frame = (payload: number[]) => {
  const n = payload.length;
  return [0, (n >>> 24) & 255, (n >>> 16) & 255, (n >>> 8) & 255, n & 255, ...payload];
};

describe("gRPC message counting", () => {
  it("counts messages across arbitrary chunk boundaries, empty messages included", () => {
    const bytes = Uint8Array.from([...frame([1, 2, 3]), ...frame([]), ...frame(Array(300).fill(9))]);
    for (const size of [1, 2, 5, 7, 64, bytes.length]) {
      const counter = createGrpcMessageCounter();
      let completed = 0;
      for (let i = 0; i < bytes.length; i += size) completed += counter.push(bytes.subarray(i, i + size));
      expect([counter.messages, completed]).toEqual([3, 3]);
    }
  });

  it("reads the 4-byte big-endian length (a message longer than 65,535 bytes)", () => {
    const counter = createGrpcMessageCounter();
    counter.push(Uint8Array.from([1, 0, 1, 0, 0]));
    expect(counter.push(new Uint8Array(65_536))).toBe(1);
    counter.push(Uint8Array.from([0, 0, 0, 0, 1]));
    expect(counter.messages).toBe(2);
  });
});
