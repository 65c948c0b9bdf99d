import { type AddressInfo, createServer } from "node:net";
import { connect } from "node:tls";
import { describe, expect, it } from "vitest";
import { peekClientHello } from "./client-hello.ts";

/** The first bytes a real Node TLS client sends, captured by a plain TCP server. */
async function captureClientHello(servername?: string): Promise<Buffer> {
  const chunks: Buffer[] = [];
  const captured = new Promise<Buffer>((resolve) => {
    const server = createServer((socket) => {
      socket.on("data", (chunk: Buffer) => {
        chunks.push(chunk);
        const all = Buffer.concat(chunks);
        if (all.length >= 5 && all.length >= 5 + all.readUInt16BE(3)) {
          socket.destroy();
          server.close();
          resolve(all);
        }
      });
    });
    server.listen(0, "127.0.0.1", () => {
      const { port } = server.address() as AddressInfo;
      const client = connect({ host: "127.0.0.1", port, ...(servername ? { servername } : {}) });
      client.on("error", () => client.destroy());
    });
  });
  return captured;
}

describe("peekClientHello", () => {
  it("reads the SNI of a real ClientHello, lower-cased", async () => {
    expect(peekClientHello(await captureClientHello("Shop.Example.Test"))).toEqual({
      kind: "clientHello",
      serverName: "shop.example.test",
    });
  });

  it("asks for more bytes until the first record is complete, and reads no SNI when none was sent", async () => {
    const hello = await captureClientHello();
    expect(peekClientHello(hello.subarray(0, 3))).toEqual({ kind: "incomplete" });
    expect(peekClientHello(hello.subarray(0, hello.length - 1))).toEqual({ kind: "incomplete" });
    expect(peekClientHello(hello)).toEqual({ kind: "clientHello" });
  });

  it("tells plaintext from TLS", () => {
    expect(peekClientHello(Buffer.from("GET / HTTP/1.1\r\n"))).toEqual({ kind: "notTls" });
  });
});
