#!/usr/bin/env node
/**
 * The benchmark's upstream app, in its own process (the same for every peer): reads the request
 * body and answers a fixed body of `JIBE_BENCH_BODY_BYTES` (default 1,024) bytes, keep-alive.
 * Prints `{"port":N}` once listening; exits on SIGTERM.
 */
import { createServer } from "node:http";
import type { AddressInfo } from "node:net";

const body = Buffer.alloc(Number(process.env.JIBE_BENCH_BODY_BYTES ?? 1024), "x");
const server = createServer((req, res) => {
  req.resume();
  req.on("end", () => {
    res.writeHead(200, { "content-type": "application/octet-stream", "content-length": body.length });
    res.end(body);
  });
});
server.keepAliveTimeout = 60_000;
server.listen(0, "127.0.0.1", () => {
  console.log(JSON.stringify({ port: (server.address() as AddressInfo).port }));
});
process.once("SIGTERM", () => {
  server.close();
  server.closeAllConnections();
});
