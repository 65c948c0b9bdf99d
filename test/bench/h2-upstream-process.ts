#!/usr/bin/env node
/**
 * The HTTP/2 benchmark's upstream app, in its own process (the same for every peer): an h2c server
 * (prior knowledge, node:http2) that reads the request body and answers a fixed body of
 * `JIBE_BENCH_BODY_BYTES` (default 1,024) bytes. Prints `{"port":N}` once listening; exits on SIGTERM.
 */
import { createServer } from "node:http2";
import type { AddressInfo } from "node:net";

const body = Buffer.alloc(Number(process.env.JIBE_BENCH_BODY_BYTES ?? 1024), "x");
const server = createServer();
server.on("stream", (stream) => {
  stream.on("error", () => {});
  stream.resume();
  stream.once("end", () => {
    if (stream.destroyed) return;
    stream.respond({
      ":status": 200,
      "content-type": "application/octet-stream",
      "content-length": body.length,
    });
    stream.end(body);
  });
});
server.listen(0, "127.0.0.1", () => {
  console.log(JSON.stringify({ port: (server.address() as AddressInfo).port }));
});
process.once("SIGTERM", () => {
  server.close();
  process.exit(0);
});
