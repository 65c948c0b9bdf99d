/** One item of a Server-Sent Events stream. */
export type SseItem =
  | { type: "comment"; text: string }
  | { type: "message"; event: string; data: string; id?: string };

/**
 * Parses a Server-Sent Events byte stream (WHATWG `text/event-stream` rules: `field: value` lines, an empty
 * line dispatches, `data` lines join with `\n`, lines starting with `:` are comments).
 *
 * @example
 * ```ts
 * for await (const item of readSse(response.body!)) {
 *   if (item.type === "message") console.log(item.event, JSON.parse(item.data));
 * }
 * ```
 */
export async function* readSse(body: ReadableStream<Uint8Array>): AsyncGenerator<SseItem> {
  const decoder = new TextDecoder();
  let buffer = "";
  let event = "";
  let data: string[] = [];
  let id: string | undefined;
  const reader = body.getReader();
  try {
    for (;;) {
      const { done, value } = await reader.read();
      if (done) return;
      buffer += decoder.decode(value, { stream: true });
      let newline = buffer.search(/\r\n|\r|\n/);
      while (newline >= 0) {
        const line = buffer.slice(0, newline);
        buffer = buffer.slice(newline + (buffer.startsWith("\r\n", newline) ? 2 : 1));
        newline = buffer.search(/\r\n|\r|\n/);
        if (line === "") {
          if (data.length > 0)
            yield {
              type: "message",
              event: event || "message",
              data: data.join("\n"),
              ...(id ? { id } : {}),
            };
          event = "";
          data = [];
          continue;
        }
        if (line.startsWith(":")) {
          yield { type: "comment", text: line.slice(1).trim() };
          continue;
        }
        const colon = line.indexOf(":");
        const field = colon < 0 ? line : line.slice(0, colon);
        const value = colon < 0 ? "" : line.slice(colon + 1).replace(/^ /, "");
        if (field === "event") event = value;
        else if (field === "data") data.push(value);
        else if (field === "id") id = value;
      }
    }
  } finally {
    // A consumer that stops reading is done with the stream: end it (and the connection under it).
    await reader.cancel().catch(() => {});
  }
}
