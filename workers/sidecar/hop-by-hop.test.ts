import { describe, expect, it } from "vitest";
import { withoutHopByHop } from "./hop-by-hop.ts";

describe("withoutHopByHop", () => {
  it("drops connection-level headers and any header the Connection header names", () => {
    expect(
      withoutHopByHop({
        connection: "keep-alive, X-Trace-Hop",
        "keep-alive": "timeout=5",
        "transfer-encoding": "chunked",
        upgrade: "websocket",
        "proxy-authorization": "Basic eA==",
        "x-trace-hop": "1",
        "x-request-id": "abc",
        "set-cookie": ["a=1", "b=2"],
      }),
    ).toEqual({ "x-request-id": "abc", "set-cookie": ["a=1", "b=2"] });
  });
});
