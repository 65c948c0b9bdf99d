#!/usr/bin/env node
/**
 * The "bare Node" peer of the data-plane benchmark: the smallest correct keep-alive HTTP/1.1
 * pass-through proxy on node:http (no routing, policy, telemetry or retries), so the report can
 * separate what Node itself costs from what Jibe's layers add. Forwards to 127.0.0.1:`argv[3]`,
 * listens on 127.0.0.1:`argv[2]`, prints `{"port":N}` once listening; exits on SIGTERM.
 */
import { Agent, createServer, request } from "node:http";

const [port, target] = [Number(process.argv[2]), Number(process.argv[3])];
const agent = new Agent({ keepAlive: true, maxSockets: 128 });
const server = createServer((req, res) => {
  const upstream = request(
    { host: "127.0.0.1", port: target, method: req.method, path: req.url, headers: req.headers, agent },
    (answer) => {
      res.writeHead(answer.statusCode ?? 502, answer.headers);
      answer.pipe(res);
    },
  );
  upstream.on("error", () => {
    if (!res.headersSent) res.writeHead(502);
    res.end();
  });
  req.pipe(upstream);
});
server.keepAliveTimeout = 60_000;
server.listen(port, "127.0.0.1", () => console.log(JSON.stringify({ port })));
process.once("SIGTERM", () => {
  server.close();
  server.closeAllConnections();
  agent.destroy();
});
