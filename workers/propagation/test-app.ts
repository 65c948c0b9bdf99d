/**
 * Test fixture (not a test): a Node app that knows nothing about tracing. For `GET /call?via=fetch`
 * (or `via=http`) it waits `delay` ms, then calls `UPSTREAM_URL` without copying any header (with
 * `x-request-id: app-chose` when `own=1`), and answers with the upstream's answer. Prints
 * `listening <port>` once ready. Run it with and without `--import ./preload.ts`.
 */
import http from "node:http";
import type { AddressInfo } from "node:net";

const upstream = new URL(process.env.UPSTREAM_URL ?? "http://127.0.0.1:1/");

function viaHttp(headers: Record<string, string>): Promise<string> {
  return new Promise((resolve, reject) => {
    const req = http.get({ host: upstream.hostname, port: upstream.port, path: "/", headers }, (res) => {
      let text = "";
      res.setEncoding("utf8");
      res.on("data", (chunk: string) => {
        text += chunk;
      });
      res.on("end", () => resolve(text));
    });
    req.on("error", reject);
  });
}

const server = http.createServer((req, res) => {
  const url = new URL(req.url ?? "/", "http://app.invalid");
  const own: Record<string, string> =
    url.searchParams.get("own") === "1" ? { "x-request-id": "app-chose" } : {};
  const delay = Number(url.searchParams.get("delay") ?? 0);
  setTimeout(() => {
    const call =
      url.searchParams.get("via") === "http"
        ? viaHttp(own)
        : fetch(upstream, { headers: own }).then((r) => r.text());
    call.then(
      (text) => res.end(text),
      (error: unknown) => res.writeHead(502).end(String(error)),
    );
  }, delay);
});
server.listen(0, "127.0.0.1", () => {
  console.log(`listening ${(server.address() as AddressInfo).port}`);
});
process.on("SIGTERM", () => server.close(() => process.exit(0)));
