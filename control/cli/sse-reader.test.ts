import { describe, expect, it } from "vitest";
import { readSse, type SseItem } from "./sse-reader.ts";

function streamOf(chunks: string[]): ReadableStream<Uint8Array> {
  const encoder = new TextEncoder();
  return new ReadableStream({
    start(controller) {
      for (const chunk of chunks) controller.enqueue(encoder.encode(chunk));
      controller.close();
    },
  });
}

async function all(chunks: string[]): Promise<SseItem[]> {
  const out: SseItem[] = [];
  for await (const item of readSse(streamOf(chunks))) out.push(item);
  return out;
}

describe("readSse", () => {
  it("parses comments, events split across chunks, multi-line data and CRLF", async () => {
    expect(
      await all([
        ": subscribed\n\nevent: resource.app",
        'lied\r\ndata: {"a":\ndata: 1}\r\nid: 7\r\n\r\n',
        "data: x\n\n",
      ]),
    ).toEqual([
      { type: "comment", text: "subscribed" },
      { type: "message", event: "resource.applied", data: '{"a":\n1}', id: "7" },
      { type: "message", event: "message", data: "x", id: "7" },
    ]);
  });

  it("drops an event that never got its blank line", async () => {
    expect(await all(["data: cut off"])).toEqual([]);
  });
});
