import type { Socket } from "node:net";
import { Duplex } from "node:stream";

/**
 * A connection whose first bytes were already read (to tell HTTP/2 from HTTP/1.1), replayed in
 * front of the rest. node:http2 reads a real socket natively and would miss bytes put back with
 * `unshift`, so it is given this JS stream instead; addresses are the underlying socket's.
 */
export class PeekedSocket extends Duplex {
  readonly transport: Socket;
  #first: Buffer | undefined;

  constructor(transport: Socket, first: Buffer) {
    super({ allowHalfOpen: false });
    this.transport = transport;
    this.#first = first;
    transport.on("data", (chunk: Buffer) => {
      if (!this.push(chunk)) transport.pause();
    });
    transport.once("end", () => this.push(null));
    transport.once("error", (error) => this.destroy(error));
    transport.once("close", () => this.destroy());
  }

  override _read(): void {
    const first = this.#first;
    if (first) {
      this.#first = undefined;
      this.push(first);
    }
    this.transport.resume();
  }

  override _write(chunk: Buffer, encoding: BufferEncoding, callback: (error?: Error | null) => void): void {
    this.transport.write(chunk, encoding, callback);
  }

  override _final(callback: (error?: Error | null) => void): void {
    this.transport.end();
    callback();
  }

  override _destroy(error: Error | null, callback: (error?: Error | null) => void): void {
    this.transport.destroy(error ?? undefined);
    callback(error);
  }

  get remoteAddress(): string | undefined {
    return this.transport.remoteAddress;
  }
  get remotePort(): number | undefined {
    return this.transport.remotePort;
  }
  get localAddress(): string | undefined {
    return this.transport.localAddress;
  }
  get localPort(): number | undefined {
    return this.transport.localPort;
  }
  setTimeout(ms: number, callback?: () => void): this {
    this.transport.setTimeout(ms, callback);
    return this;
  }
  setNoDelay(noDelay?: boolean): this {
    this.transport.setNoDelay(noDelay);
    return this;
  }
  setKeepAlive(enable?: boolean, delay?: number): this {
    this.transport.setKeepAlive(enable, delay);
    return this;
  }
}

/** The HTTP/2 connection preface starts with these bytes (`PRI * HTTP/2.0`). */
const H2_PREFACE = Buffer.from("PRI * HTTP/2.0");

/** Whether the first bytes of a connection are (the start of) the HTTP/2 client preface. */
export function isHttp2Preface(first: Buffer): boolean {
  const n = Math.min(first.length, H2_PREFACE.length);
  return n >= 3 && first.subarray(0, n).equals(H2_PREFACE.subarray(0, n));
}
