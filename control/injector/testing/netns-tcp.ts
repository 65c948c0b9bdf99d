/**
 * Test helper run inside a network namespace (`ip netns exec NS node netns-tcp.ts ...`):
 *
 * - `serve LABEL PORT...`: listens on every port (all addresses); each connection gets
 *   `LABEL:<local port it was accepted on>` and is closed. Prints `ready` once all ports listen.
 * - `connect HOST PORT [UID]`: connects (as UID when given, so iptables' owner match sees it) and
 *   prints what the server answered, or `error:<code>`.
 */
import { connect, createServer } from "node:net";

const [mode, ...args] = process.argv.slice(2);

if (mode === "serve") {
  const [label, ...ports] = args;
  let listening = 0;
  for (const port of ports) {
    const server = createServer((socket) => socket.end(`${label}:${socket.localPort}`));
    server.listen(Number(port), "0.0.0.0", () => {
      listening += 1;
      if (listening === ports.length) process.stdout.write("ready\n");
    });
  }
} else if (mode === "connect") {
  const [host = "", port = "", uid] = args;
  if (uid !== undefined) process.setuid?.(Number(uid));
  const socket = connect({ host, port: Number(port) });
  let answer = "";
  socket.setEncoding("utf8");
  socket.setTimeout(3000, () => {
    process.stdout.write("error:timeout");
    process.exit(0);
  });
  socket.on("data", (chunk: string) => {
    answer += chunk;
  });
  socket.on("end", () => process.stdout.write(answer));
  socket.on("error", (error: NodeJS.ErrnoException) => process.stdout.write(`error:${error.code}`));
} else {
  process.stderr.write("usage: netns-tcp.ts serve LABEL PORT... | connect HOST PORT [UID]\n");
  process.exit(2);
}
